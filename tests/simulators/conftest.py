"""The Xero sandbox over real HTTP: our live server, an app connected through authlib's
OAuth2Session (the library our connector uses), and a small receiver for its webhooks that
checks Xero's signature with its own HMAC."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings as django_settings
from django.db import connection

# A throwaway Redis as the broker and real Celery workers (tests/integrations' fixtures).
from tests.integrations.conftest import redis_server, start_worker  # noqa: F401

REDIRECT_URI = "http://127.0.0.1:9/xero/callback"  # never fetched: tests read the redirect
SCOPE = (
    "openid profile email offline_access accounting.transactions accounting.contacts "
    "accounting.settings"
)


@pytest.fixture(autouse=True)
def _close_connections():
    yield
    connection.close()


@pytest.fixture
def sandbox(live_server, settings, monkeypatch) -> str:
    """The sandbox's base URL, with limits raised (tests that want them lower say so)."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the live server speaks plain HTTP
    # No Redis flush: the limits' counters are per tenant, and each test's tenant is new
    # (flushing would disturb tests running beside this one on the same Redis).
    settings.XERO_SANDBOX_RATE_PER_MINUTE = 100_000
    settings.XERO_SANDBOX_RATE_PER_DAY = 1_000_000
    settings.XERO_SANDBOX_CONCURRENT_LIMIT = 100
    settings.XERO_SANDBOX_BASE_URL = f"{live_server.url}/sandbox/xero"
    return f"{live_server.url}/sandbox/xero"


def oauth_session(base: str, **kwargs: Any) -> OAuth2Session:
    """As our connector builds it: refreshes by itself when the token is (nearly) expired."""
    return OAuth2Session(
        django_settings.XERO_SANDBOX_CLIENT_ID,
        django_settings.XERO_SANDBOX_CLIENT_SECRET,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint=f"{base}/identity/connect/token",
        **kwargs,
    )


def authorize(session: OAuth2Session, base: str) -> dict[str, Any]:
    """The whole dance: authorize (consent is automatic), follow the redirect, fetch the token."""
    verifier = generate_token(48)
    url, state = session.create_authorization_url(
        f"{base}/identity/connect/authorize", code_verifier=verifier
    )
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    callback = answer.headers["Location"]
    assert callback.startswith(REDIRECT_URI)
    assert dict(parse_qsl(urlsplit(callback).query))["state"] == state
    return session.fetch_token(
        f"{base}/identity/connect/token", authorization_response=callback, code_verifier=verifier
    )


@dataclass
class XeroApp:
    """Our app, connected to the sandbox's default org."""

    base: str
    session: OAuth2Session
    tenant_id: str

    @property
    def api(self) -> str:
        return f"{self.base}/api.xro/2.0"

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        data = None if body is None else json.dumps(body)
        return self.session.request(
            method,
            f"{self.api}/{path}",
            data=data,
            headers={
                "xero-tenant-id": self.tenant_id,
                "Accept": "application/json",
                "Content-Type": "application/json",
                **headers,
            },
            timeout=15,
        )

    def ok(self, method: str, path: str, body: Any = None, **headers: str) -> dict[str, Any]:
        response = self.call(method, path, body, **headers)
        assert response.status_code == 200, response.text
        return response.json(parse_float=__import__("decimal").Decimal)

    def control(self, path: str = "", body: Any = None, method: str = "POST") -> requests.Response:
        return requests.request(
            method,
            f"{self.base}/control/{self.tenant_id}{path}",
            json=body,
            headers={"Authorization": f"Bearer {django_settings.XERO_SANDBOX_CLIENT_SECRET}"},
            timeout=15,
        )


@pytest.fixture
def xero(sandbox) -> XeroApp:
    session = oauth_session(sandbox)
    authorize(session, sandbox)
    connections = session.get(f"{sandbox}/connections", timeout=10).json()
    assert [c["tenantName"] for c in connections] == ["Demo Org (sandbox)"]
    return XeroApp(base=sandbox, session=session, tenant_id=connections[0]["tenantId"])


# --- a receiver for the sandbox's webhooks ----------------------------------------------


@dataclass
class XeroReceiver:
    """Answers as a correct Xero webhook endpoint does: 200 to a valid signature, 401 to an
    invalid one; keeps every request."""

    key: str
    received: list[tuple[bytes, str, bool]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/xero/"

    def valid(self, body: bytes, signature: str) -> bool:
        digest = hmac.new(self.key.encode(), body, hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), signature)

    def start(self) -> XeroReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                signature = self.headers.get("x-xero-signature", "")
                ok = receiver.valid(body, signature)
                receiver.received.append((body, signature, ok))
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body, _sig, ok in self.received if ok]


@pytest.fixture
def xero_receiver(settings) -> Iterator[XeroReceiver]:
    receiver = XeroReceiver(key=settings.XERO_WEBHOOK_KEY).start()
    settings.XERO_SANDBOX_WEBHOOK_URL = receiver.url
    yield receiver
    assert receiver.server is not None
    receiver.server.shutdown()
    receiver.server.server_close()


# The QuickBooks sandbox's fixtures (tests/simulators/quickbooks.py).
from tests.simulators.quickbooks import qbo, qbo_sandbox  # noqa: E402, F401
