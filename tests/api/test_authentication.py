"""Bearer token authentication: one query loads the token with its application, binding and
profile; a token whose application lost its binding is refused."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fintech.api.models import ApiClient
from fintech.api.oauth import token_with_binding
from fintech.api.scopes import PROFILES_READ
from tests.api.conftest import Api, fetch_token, issue_client

pytestmark = pytest.mark.django_db


def checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_one_query_loads_the_token_application_binding_and_profile(client, alice) -> None:
    issued = issue_client(alice, [PROFILES_READ])
    token = fetch_token(client, issued)["access_token"]
    with CaptureQueriesContext(connection) as queries:
        loaded = token_with_binding(checksum(token))
        assert loaded is not None
        assert loaded.application.client_id == issued.client_id
        assert loaded.application.api_client.scopes == [PROFILES_READ]
        assert loaded.application.api_client.profile.legal_name == "Alice Trading Ltd"
        assert loaded.user is None
        assert loaded.scope == PROFILES_READ
        assert loaded.is_valid([PROFILES_READ])
    assert len(queries) == 1


def test_an_unknown_token_loads_nothing(alice) -> None:
    assert token_with_binding(checksum("no-such-token")) is None


def test_a_token_of_an_application_that_lost_its_binding_is_refused(client, alice) -> None:
    issued = issue_client(alice, [PROFILES_READ])
    api = Api(client=client, token=fetch_token(client, issued)["access_token"])
    assert api.get("/profile").status_code == 200
    ApiClient.objects.filter(pk=issued.api_client.pk).delete()
    refused = api.get("/profile")
    assert refused.status_code == 401
    assert "not bound" in json.loads(refused.content)["detail"]
