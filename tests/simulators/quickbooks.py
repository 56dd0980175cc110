"""The QuickBooks sandbox over real HTTP: our live server, an app connected through authlib's
OAuth2Session (the library our connectors use), Intuit's authorization code flow with PKCE,
and helpers to call the Accounting API v3 as the connector does."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings as django_settings

REDIRECT_URI = "http://127.0.0.1:9/quickbooks/callback"  # never fetched: tests read it
SCOPE = "com.intuit.quickbooks.accounting"


@pytest.fixture
def qbo_sandbox(live_server, settings, monkeypatch) -> str:
    """The sandbox's base URL, with limits raised (tests that want them lower say so)."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the live server speaks plain HTTP
    settings.QUICKBOOKS_SANDBOX_RATE_PER_MINUTE = 100_000
    settings.QUICKBOOKS_SANDBOX_CONCURRENT_LIMIT = 100
    settings.QUICKBOOKS_SANDBOX_BASE_URL = f"{live_server.url}/sandbox/quickbooks"
    settings.QUICKBOOKS_SANDBOX_WEBHOOK_URL = ""  # tests that want webhooks set a receiver
    return f"{live_server.url}/sandbox/quickbooks"


def basic() -> dict[str, str]:
    pair = (
        f"{django_settings.QUICKBOOKS_SANDBOX_CLIENT_ID}:"
        f"{django_settings.QUICKBOOKS_SANDBOX_CLIENT_SECRET}"
    )
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def oauth_session(base: str, **kwargs: Any) -> OAuth2Session:
    """As a connector builds it: client authenticated by HTTP Basic (Intuit's way)."""
    return OAuth2Session(
        django_settings.QUICKBOOKS_SANDBOX_CLIENT_ID,
        django_settings.QUICKBOOKS_SANDBOX_CLIENT_SECRET,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint=f"{base}/oauth2/tokens/bearer",
        token_endpoint_auth_method="client_secret_basic",
        **kwargs,
    )


def authorize(session: OAuth2Session, base: str, **params: str) -> tuple[dict[str, Any], str]:
    """The whole dance; (token, realmId)."""
    verifier = generate_token(48)
    url, state = session.create_authorization_url(
        f"{base}/oauth2/authorize", code_verifier=verifier, **params
    )
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    callback = answer.headers["Location"]
    assert callback.startswith(REDIRECT_URI)
    query = dict(parse_qsl(urlsplit(callback).query))
    assert query["state"] == state
    token = session.fetch_token(
        f"{base}/oauth2/tokens/bearer", authorization_response=callback, code_verifier=verifier
    )
    return token, query["realmId"]


@dataclass
class QboApp:
    """Our app, connected to one sandbox company."""

    base: str
    session: OAuth2Session
    realm_id: str

    @property
    def api(self) -> str:
        return f"{self.base}/v3/company/{self.realm_id}"

    def call(
        self, method: str, path: str, body: Any = None, *, requestid: str | None = "auto"
    ) -> requests.Response:
        params: dict[str, str] = {"minorversion": "75"}
        if method == "POST" and requestid:
            params["requestid"] = uuid.uuid4().hex if requestid == "auto" else requestid
        return self.session.request(
            method,
            f"{self.api}/{path}",
            params=params,
            data=None if body is None else json.dumps(body, default=str),
            headers={"Accept": "application/json", "Content-Type": "application/json"},
            timeout=15,
        )

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        response = self.call(method, path, body, **kwargs)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json(parse_float=Decimal)
        return data

    def create(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = self.ok("POST", entity.lower(), body)[entity]
        return created

    def query(self, statement: str) -> dict[str, Any]:
        response = self.session.get(
            f"{self.api}/query",
            params={"query": statement, "minorversion": "75"},
            headers={"Accept": "application/json"},
            timeout=15,
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json(parse_float=Decimal)["QueryResponse"]
        return data

    def control(self, path: str = "", body: Any = None, method: str = "POST") -> requests.Response:
        return requests.request(
            method,
            f"{self.base}/control/{self.realm_id}{path}",
            json=body,
            headers={"Authorization": f"Bearer {django_settings.QUICKBOOKS_SANDBOX_CLIENT_SECRET}"},
            timeout=15,
        )


def connect(base: str, **params: str) -> QboApp:
    session = oauth_session(base)
    _token, realm_id = authorize(session, base, **params)
    return QboApp(base=base, session=session, realm_id=realm_id)


@pytest.fixture
def qbo(qbo_sandbox) -> QboApp:
    """Connected to a company of its own (each test's realm is new: its limits too)."""
    made = requests.post(
        f"{qbo_sandbox}/control/companies",
        json={"name": "Alice Ltd books", "currencies": ["EUR", "USD"]},
        headers={"Authorization": f"Bearer {django_settings.QUICKBOOKS_SANDBOX_CLIENT_SECRET}"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    return connect(qbo_sandbox, realm_id=made.json()["realmId"])
