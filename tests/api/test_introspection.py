"""/o/introspect/ (RFC 7662): a client authenticates as itself and learns only about its own
tokens; anyone else's token looks exactly like an unknown one."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from fintech.api.scopes import PROFILES_READ
from tests.api.conftest import basic_auth, fetch_token, issue_client

pytestmark = pytest.mark.django_db


def introspect(client: Client, token: str, **auth: str) -> tuple[int, dict]:
    response = client.post("/o/introspect/", {"token": token}, **auth)
    return response.status_code, json.loads(response.content)


def test_a_client_introspects_its_own_token(client, alice) -> None:
    issued = issue_client(alice, [PROFILES_READ])
    token = fetch_token(client, issued)["access_token"]
    status, info = introspect(client, token, HTTP_AUTHORIZATION=basic_auth(issued))
    assert status == 200
    assert info["active"] is True
    assert info["client_id"] == issued.client_id
    assert info["scope"] == PROFILES_READ


def test_credentials_in_the_body_work_too(client, alice) -> None:
    issued = issue_client(alice, [PROFILES_READ])
    token = fetch_token(client, issued)["access_token"]
    response = client.post(
        "/o/introspect/",
        {"token": token, "client_id": issued.client_id, "client_secret": issued.client_secret},
    )
    assert json.loads(response.content)["active"] is True


def test_another_clients_token_looks_unknown(client, alice, bob) -> None:
    alices = issue_client(alice, [PROFILES_READ])
    bobs = issue_client(bob, [PROFILES_READ])
    alices_token = fetch_token(client, alices)["access_token"]
    bob_auth = {"HTTP_AUTHORIZATION": basic_auth(bobs)}

    assert introspect(client, alices_token, **bob_auth) == (200, {"active": False})
    assert introspect(client, "no-such-token", **bob_auth) == (200, {"active": False})
    # Even another application of the same business only sees its own tokens.
    second = issue_client(alice, [PROFILES_READ])
    second_auth = {"HTTP_AUTHORIZATION": basic_auth(second)}
    assert introspect(client, alices_token, **second_auth) == (200, {"active": False})
    # Still active for its owner.
    assert introspect(client, alices_token, HTTP_AUTHORIZATION=basic_auth(alices))[1]["active"]


@pytest.mark.parametrize("how", ["nothing", "wrong secret", "bearer token"])
def test_the_caller_must_authenticate_as_a_client(client, alice, how) -> None:
    issued = issue_client(alice, [PROFILES_READ])
    token = fetch_token(client, issued)["access_token"]
    auth = {
        "nothing": {},
        "wrong secret": {
            "HTTP_AUTHORIZATION": "Basic "
            + base64.b64encode(f"{issued.client_id}:not-the-secret".encode()).decode()
        },
        # DOT's view would also accept a bearer token with an `introspection` scope.
        "bearer token": {"HTTP_AUTHORIZATION": f"Bearer {token}"},
    }[how]
    status, info = introspect(client, token, **auth)
    assert status == 401
    assert info["error"] == "invalid_client"
    assert "active" not in info
