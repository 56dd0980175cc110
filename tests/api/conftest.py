"""API fixtures: alice's and bob's OAuth clients, tokens from the real token endpoint, and a
small client that speaks bearer tokens and Idempotency-Keys."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from oauth2_provider.models import Application

from fintech.api.models import ApiRequestLog
from fintech.api.request_log import KEY as REQUEST_LOG_KEY
from fintech.api.scopes import ALL_SCOPES
from fintech.api.services import IssuedClient, api_client_create
from fintech.core.redis_client import redis_client
from fintech.core.services import Actor
from fintech.customers.models import Profile
from tests.builders import build_beneficiary, build_profile, build_wallet_funding
from tests.integrations.conftest import redis_server  # noqa: F401 (fixture)

OPS = Actor.system("test-api")


@pytest.fixture(autouse=True)
def _fast_secret_hashing(settings):
    # Client secrets are hashed with the first PASSWORD_HASHERS entry; PBKDF2's million
    # rounds per token request would dominate the suite. The hashing itself is unchanged.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def issue_client(profile: Profile, scopes: list[str] | tuple[str, ...] = ALL_SCOPES, **kw: Any):
    return api_client_create(
        actor=OPS, profile=profile, name=f"{profile.legal_name} ERP", scopes=list(scopes), **kw
    )


def basic_auth(issued: IssuedClient) -> str:
    raw = f"{issued.client_id}:{issued.client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def fetch_token(client: Client, issued: IssuedClient, scope: str | None = None) -> dict[str, Any]:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    response = client.post("/o/token/", data, HTTP_AUTHORIZATION=basic_auth(issued))
    return {"status": response.status_code, **json.loads(response.content)}


@dataclass
class Api:
    """Calls /api/v1 with a bearer token through Django's test client."""

    client: Client
    token: str

    def _headers(self, key: str | None, extra: dict[str, str]) -> dict[str, str]:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        headers.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in extra.items()})
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None, **extra: str):
        return self.client.get(f"/api/v1{path}", params or {}, **self._headers(None, extra))

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        key: str | None = "auto",
        raw: bytes | str | None = None,
        content_type: str = "application/json",
        **extra: str,
    ):
        if key == "auto":
            key = str(uuid.uuid4())
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            f"/api/v1{path}", data, content_type=content_type, **self._headers(key, extra)
        )


def api_for(client: Client, issued: IssuedClient, scope: str | None = None) -> Api:
    token = fetch_token(client, issued, scope)
    assert token["status"] == 200, token
    return Api(client=client, token=token["access_token"])


def fund_wallet(profile: Profile, currency: str, amount_minor: int) -> None:
    """Money arrives in the profile's wallet from the funding bank (through the service)."""
    build_wallet_funding(profile=profile, currency=currency, amount_minor=amount_minor)


@pytest.fixture
def alice_client(alice) -> IssuedClient:
    return issue_client(alice)


@pytest.fixture
def bob_client(bob) -> IssuedClient:
    return issue_client(bob)


@pytest.fixture
def alice_api(client, alice_client) -> Api:
    return api_for(client, alice_client)


@pytest.fixture
def bob_api(alice_client, bob_client) -> Api:
    # A separate Django test client: no shared cookies with alice's.
    return api_for(Client(), bob_client)


@pytest.fixture
def alice_funded(alice) -> Profile:
    fund_wallet(alice, "GBP", 500_000)
    fund_wallet(alice, "EUR", 200_000)
    return alice


@pytest.fixture
def sandbox_profile(alice_user) -> Profile:
    return build_profile(
        legal_name="Alice Sandbox Ltd", owner=alice_user, is_sandbox=True, verified=True
    )


def create_quote(api: Api, **overrides: Any) -> dict[str, Any]:
    body = {"source_currency": "GBP", "target_currency": "EUR", "source_amount": "1000.00"}
    body.update(overrides)
    response = api.post("/quotes", body)
    assert response.status_code == 201, response.content
    return json.loads(response.content)


def create_transfer(api: Api, profile: Profile, **overrides: Any) -> dict[str, Any]:
    quote = create_quote(api)
    beneficiary = build_beneficiary(profile=profile, currency="EUR")
    body = {
        "quote_id": quote["id"],
        "beneficiary_id": beneficiary.pk,
        "customer_transaction_id": f"INV-{uuid.uuid4().hex[:8]}",
    }
    body.update(overrides)
    response = api.post("/transfers", body)
    assert response.status_code == 201, response.content
    return json.loads(response.content)


REDIRECT_URI = "https://erp.example.com/callback"


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) as RFC 7636 defines them."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorize(
    client: Client,
    issued: IssuedClient,
    *,
    scope: str,
    challenge: str | None,
    method: str = "S256",
) -> str:
    """The logged-in user approves the application; returns the redirect Location."""
    params = {
        "response_type": "code",
        "client_id": issued.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "st-1",
    }
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method=method)
    response = client.post("/o/authorize/", {**params, "allow": "Authorize"})
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def code_from(location: str) -> str | None:
    query = parse_qs(urlsplit(location).query)
    return query.get("code", [None])[0]


def exchange_code(client: Client, issued: IssuedClient, code: str, verifier: str | None):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        data["code_verifier"] = verifier
    response = client.post("/o/token/", data, HTTP_AUTHORIZATION=basic_auth(issued))
    return response.status_code, json.loads(response.content)


def issue_web_client(profile: Profile, scopes: list[str] | tuple[str, ...] = ALL_SCOPES):
    return issue_client(
        profile,
        scopes,
        grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
    )


@pytest.fixture
def request_log(redis_server, settings) -> None:  # noqa: F811 (the fixture)
    """An empty API request log, on this test process's own Redis: on the shared one, the
    other test processes' API requests push onto the same list meanwhile."""
    settings.REDIS_URL = redis_server.url
    redis_client().delete(REQUEST_LOG_KEY)
    ApiRequestLog.objects.all().delete()
