"""End to end against a live server with a real OAuth client library (requests-oauthlib):
the integrator's whole sandbox flow, and a third-party app authorised by a member with PKCE."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import connection
from django.test import Client
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from fintech.api.scopes import ALL_SCOPES, PROFILES_READ, QUOTES_WRITE
from fintech.core.models import AuditEvent
from fintech.transfers.models import Transfer
from tests.api.conftest import REDIRECT_URI, fund_wallet, issue_client, issue_web_client
from tests.builders import build_profile, build_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _close_connections():
    yield
    connection.close()


@pytest.fixture
def oauth_over_http(monkeypatch):
    # The live server speaks plain HTTP on 127.0.0.1; oauthlib refuses that unless told.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def test_client_credentials_sandbox_flow(live_server, oauth_over_http) -> None:
    owner = build_user("alice-e2e")
    sandbox = build_profile(legal_name="Alice Sandbox Ltd", owner=owner, is_sandbox=True)
    fund_wallet(sandbox, "GBP", 1_000_000)
    issued = issue_client(sandbox)
    base = f"{live_server.url}/api/v1"

    session = OAuth2Session(client=BackendApplicationClient(client_id=issued.client_id))
    token = session.fetch_token(
        f"{live_server.url}/o/token/",
        client_id=issued.client_id,
        client_secret=issued.client_secret,
    )
    assert set(token["scope"]) == set(ALL_SCOPES)

    def post(path: str, json: dict | None = None):
        return session.post(
            f"{base}{path}", json=json or {}, headers={"Idempotency-Key": str(uuid.uuid4())}
        )

    profile = session.get(f"{base}/profile").json()
    assert profile["is_sandbox"] is True

    quote = post(
        "/quotes", {"source_currency": "GBP", "target_currency": "EUR", "source_amount": "1000.00"}
    )
    assert quote.status_code == 201, quote.text
    beneficiary = post(
        "/beneficiaries",
        {
            "holder_name": "Lieferant GmbH",
            "currency": "EUR",
            "country": "DE",
            "scheme": "iban",
            "details": {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
        },
    )
    assert beneficiary.status_code == 201, beneficiary.text
    transfer = post(
        "/transfers",
        {
            "quote_id": quote.json()["id"],
            "beneficiary_id": beneficiary.json()["id"],
            "customer_transaction_id": "INV-2026-001",
        },
    )
    assert transfer.status_code == 201, transfer.text
    transfer_id = transfer.json()["id"]
    assert transfer.headers["X-Request-Id"]

    funded = post(f"/transfers/{transfer_id}/fund")
    assert funded.status_code == 200, funded.text
    assert funded.json()["state"] == "funded"

    simulate = f"/sandbox/transfers/{transfer_id}/simulate"
    too_early = session.post(f"{base}{simulate}", json={"outcome": "completed"})
    assert too_early.status_code == 409
    assert too_early.headers["Content-Type"] == "application/problem+json"
    assert session.post(f"{base}{simulate}", json={"outcome": "processing"}).json()["state"] == (
        "processing"
    )
    completed = session.post(f"{base}{simulate}", json={"outcome": "completed"}).json()
    assert completed["state"] == "completed"
    assert [step["to_state"] for step in completed["timeline"]] == [
        "created",
        "funded",
        "processing",
        "completed",
    ]

    listed = session.get(f"{base}/transfers", params={"state": "completed"}).json()
    assert [t["id"] for t in listed["results"]] == [transfer_id]
    statement = session.get(f"{base}/ledger/statement", params={"currency": "GBP"})
    assert statement.status_code == 200
    assert statement.json()["lines"][0]["amount"] == "10000.00"
    balances = session.get(f"{base}/balances").json()["results"]
    assert {b["currency"] for b in balances} >= {"GBP"}

    assert Transfer.objects.get(pk=transfer_id).state == "completed"
    audit = AuditEvent.objects.get(action="transfer.create", target_id=str(transfer_id))
    assert audit.actor_label == f"app:{issued.client_id}"
    assert audit.request_id == transfer.headers["X-Request-Id"]

    # Revoked: the same session is refused with a bearer challenge.
    Client().post(
        "/o/revoke_token/",
        {
            "token": token["access_token"],
            "client_id": issued.client_id,
            "client_secret": issued.client_secret,
        },
    )
    refused = session.get(f"{base}/profile")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_authorization_code_with_pkce(live_server, oauth_over_http) -> None:
    alice_user = build_user("alice-pkce", password="correct horse battery staple")
    alice = build_profile(legal_name="Alice Trading Ltd", owner=alice_user)
    issued = issue_web_client(alice, [PROFILES_READ, QUOTES_WRITE])

    session = OAuth2Session(
        issued.client_id, redirect_uri=REDIRECT_URI, scope=[PROFILES_READ], pkce="S256"
    )
    url, state = session.authorization_url(f"{live_server.url}/o/authorize/")
    params = dict(parse_qsl(urlsplit(url).query))
    assert params["code_challenge_method"] == "S256"

    # Alice logs in and approves the application (Django's test client, same database).
    browser = Client()
    assert browser.login(username="alice-pkce", password="correct horse battery staple")
    consent = browser.get("/o/authorize/", params)
    assert consent.status_code == 200
    approved = browser.post("/o/authorize/", {**params, "allow": "Authorize"})
    assert approved.status_code == 302
    callback = approved["Location"]
    assert callback.startswith(REDIRECT_URI)

    token = session.fetch_token(
        f"{live_server.url}/o/token/",
        authorization_response=callback,
        client_secret=issued.client_secret,
    )
    assert token["scope"] == [PROFILES_READ]
    assert token["refresh_token"]
    profile = session.get(f"{live_server.url}/api/v1/profile")
    assert profile.status_code == 200
    assert profile.json()["id"] == alice.pk

    # A scope outside the approval is refused, naming it.
    refused = session.post(
        f"{live_server.url}/api/v1/quotes",
        json={"source_currency": "GBP", "target_currency": "EUR", "source_amount": "1.00"},
        headers={"Idempotency-Key": "k-1"},
    )
    assert refused.status_code == 403
    assert refused.json()["required_scopes"] == [QUOTES_WRITE]

    # Refresh through the library: a new access token and a rotated refresh token.
    refreshed = session.refresh_token(
        f"{live_server.url}/o/token/",
        client_id=issued.client_id,
        client_secret=issued.client_secret,
    )
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert session.get(f"{live_server.url}/api/v1/profile").status_code == 200
    assert state
