"""Authorization code + PKCE through the real pages: /o/authorize/ sends a signed-out member
to /accounts/login/, the login form sends them back, they approve, the app gets its code."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from fintech.api.scopes import PROFILES_READ, QUOTES_WRITE
from tests.api.conftest import (
    REDIRECT_URI,
    Api,
    code_from,
    exchange_code,
    issue_web_client,
    pkce_pair,
)
from tests.builders import build_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of the page's form, as a browser would post them back."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        if 'type="hidden"' in tag:
            name = re.search(r'name="([^"]+)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return fields


def start_authorization(issued, challenge: str) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": issued.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": PROFILES_READ,
            "state": "st-42",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"/o/authorize/?{query}"


def sign_in(browser: Client, authorize_url: str, username: str, password: str):
    """Open the authorization URL signed out, follow to the login form and submit it."""
    to_login = browser.get(authorize_url)
    assert to_login.status_code == 302
    login_url = to_login["Location"]
    assert urlsplit(login_url).path == "/accounts/login/"
    assert parse_qs(urlsplit(login_url).query)["next"] == [authorize_url]

    page = browser.get(login_url)
    assert page.status_code == 200
    content = page.content.decode()
    assert 'name="username"' in content
    assert 'name="password"' in content
    form = hidden_fields(content)
    assert form["next"] == authorize_url  # carried through the form
    return browser.post("/accounts/login/", {**form, "username": username, "password": password})


def test_a_member_signs_in_approves_and_the_app_gets_a_token(alice, alice_user) -> None:
    alice_user.set_password(PASSWORD)
    alice_user.save()
    issued = issue_web_client(alice, [PROFILES_READ, QUOTES_WRITE])
    verifier, challenge = pkce_pair()
    authorize_url = start_authorization(issued, challenge)
    browser = Client(enforce_csrf_checks=True)  # as strict as a real browser session

    signed_in = sign_in(browser, authorize_url, "alice", PASSWORD)
    assert signed_in.status_code == 302
    assert signed_in["Location"] == authorize_url

    consent = browser.get(signed_in["Location"])
    assert consent.status_code == 200
    assert "Alice Trading Ltd ERP" in consent.content.decode()
    approved = browser.post(
        "/o/authorize/", {**hidden_fields(consent.content.decode()), "allow": "Authorize"}
    )
    assert approved.status_code == 302
    callback = approved["Location"]
    assert callback.startswith(REDIRECT_URI)
    assert parse_qs(urlsplit(callback).query)["state"] == ["st-42"]

    status, token = exchange_code(Client(), issued, code_from(callback), verifier)
    assert status == 200, token
    assert token["scope"] == PROFILES_READ
    profile = Api(client=Client(), token=token["access_token"]).get("/profile")
    assert json.loads(profile.content)["id"] == alice.pk


def test_a_wrong_password_stays_on_the_form(alice, alice_user) -> None:
    alice_user.set_password(PASSWORD)
    alice_user.save()
    issued = issue_web_client(alice, [PROFILES_READ])
    browser = Client(enforce_csrf_checks=True)
    refused = sign_in(browser, start_authorization(issued, pkce_pair()[1]), "alice", "guess")
    assert refused.status_code == 200
    assert "did not match" in refused.content.decode()
    assert "_auth_user_id" not in browser.session


def test_a_signed_in_non_member_is_denied(alice) -> None:
    build_user("mallory", password=PASSWORD)
    issued = issue_web_client(alice, [PROFILES_READ])
    browser = Client(enforce_csrf_checks=True)
    signed_in = sign_in(browser, start_authorization(issued, pkce_pair()[1]), "mallory", PASSWORD)
    consent = browser.get(signed_in["Location"])
    denied = browser.post(
        "/o/authorize/", {**hidden_fields(consent.content.decode()), "allow": "Authorize"}
    )
    assert denied.status_code == 302
    query = parse_qs(urlsplit(denied["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert "code" not in query


def test_the_login_page_without_next_leads_to_the_docs(alice_user) -> None:
    alice_user.set_password(PASSWORD)
    alice_user.save()
    browser = Client()
    response = browser.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/api/v1/docs/"
