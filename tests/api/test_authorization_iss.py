"""RFC 9207: the authorization response names its issuer, so a client that talks to several
authorization servers can tell which one answered (RFC 9700 4.4, DOT's deploy check W005)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from fintech.api.scopes import PROFILES_READ
from tests.api.conftest import issue_web_client, pkce_pair
from tests.api.test_customer_login import hidden_fields, sign_in, start_authorization

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_the_authorization_response_carries_iss(alice, alice_user) -> None:
    alice_user.set_password(PASSWORD)
    alice_user.save()
    issued = issue_web_client(alice, [PROFILES_READ])
    authorize_url = start_authorization(issued, pkce_pair()[1])
    browser = Client()
    signed_in = sign_in(browser, authorize_url, "alice", PASSWORD)
    consent = browser.get(signed_in["Location"])
    approved = browser.post(
        "/o/authorize/", {**hidden_fields(consent.content.decode()), "allow": "Authorize"}
    )
    assert approved.status_code == 302
    query = parse_qs(urlsplit(approved["Location"]).query)
    assert query["code"]
    assert query["iss"] == ["http://testserver/o"]
