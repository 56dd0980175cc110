"""The sync engine's operator and customer surfaces: a tiny fake provider ("fakebooks")
registered as an adapter, a token endpoint on 127.0.0.1 it exchanges codes at, alice's books
connected through the real OAuth dance, and staff of each role."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group

from fintech.core.services import Actor
from fintech.customers.models import Profile
from integrations.errors import PermanentError, TransientError
from integrations.sync import adapters, services
from integrations.sync.adapters import (
    AccountInfo,
    JobContext,
    OAuthConfig,
    Organisation,
    Role,
    Synced,
    Tenant,
)
from integrations.sync.models import Connection, SyncJob
from tests.builders import build_user

OPS = Actor.system("test-sync")
PROVIDER = "fakebooks"


class TokenServer:
    """The provider's token endpoint: any code is good unless it is "bad"."""

    def __init__(self) -> None:
        self.requests: list[dict[str, list[str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                form = parse_qs(body)
                server.requests.append(form)
                if form.get("code") == ["bad"]:
                    status, payload = 400, {"error": "invalid_grant"}
                else:
                    status, payload = (
                        200,
                        {
                            "access_token": "at-secret-1",
                            "refresh_token": "rt-secret-1",
                            "expires_in": 1800,
                            "token_type": "Bearer",
                            "scope": "accounting",
                        },
                    )
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@dataclass
class FakeBooks:
    """A provider with one organisation, a small chart of accounts and three roles. A job's
    action says how it goes: "fail" is refused, "flaky" times out, anything else syncs."""

    base: str
    provider: str = PROVIDER
    kind: str = "accounting"
    tenant_list: list[Tenant] = field(default_factory=lambda: [Tenant("t-1", "Alice Books")])

    def oauth(self) -> OAuthConfig:
        return OAuthConfig(
            client_id="fake-client",
            client_secret="fake-secret",
            authorize_url=f"{self.base}/authorize",
            token_url=f"{self.base}/token",
            revoke_url="",
            scope="accounting offline_access",
            allow_private=True,
        )

    def tenants(self, *, access_token: str, callback: Mapping[str, str]) -> list[Tenant]:
        return list(self.tenant_list)

    def organisation(self, *, connection: Connection) -> Organisation:
        return Organisation(base_currency="GBP", currencies=("GBP", "EUR"), name="Alice Books")

    def accounts(self, *, connection: Connection) -> list[AccountInfo]:
        return [
            AccountInfo("acc-200", "200", "Sales", "REVENUE", "REVENUE", "ACTIVE"),
            AccountInfo("acc-090", "090", "Client money", "BANK", "ASSET", "ACTIVE"),
            AccountInfo("acc-260", "260", "Old fees", "REVENUE", "REVENUE", "ARCHIVED"),
        ]

    def roles(self, *, connection: Connection) -> tuple[Role, ...]:
        return (
            Role("fee_revenue", "Our fees charged on transfers", ("REVENUE",)),
            Role("client_money", "Money held for customers", ("BANK",)),
            Role("fx_gain", "Gains on currency conversion", (), required=False),
        )

    def perform(self, context: JobContext) -> Synced:
        if context.job.action == "fail":
            raise PermanentError("ValidationException: the contact has no name")
        if context.job.action == "flaky":
            raise TransientError("timed out")
        return Synced(external_id=f"ext-{context.job.object_id}", external_number="INV-0001")

    def disconnect(self, *, connection: Connection) -> None:
        return None


@pytest.fixture
def token_server() -> Iterator[TokenServer]:
    server = TokenServer()
    yield server
    server.stop()


@pytest.fixture
def fakebooks(token_server) -> Iterator[FakeBooks]:
    adapter = FakeBooks(base=token_server.base)
    adapters.register_adapter(adapter)
    yield adapter
    adapters._adapters.pop(PROVIDER, None)


def state_of(authorization_url: str) -> str:
    return parse_qs(urlsplit(authorization_url).query)["state"][0]


def connect(profile: Profile | None) -> Connection:
    """Through the OAuth dance: start, then finish with a code the token endpoint takes."""
    _, url = services.connection_start(
        actor=OPS, provider=PROVIDER, profile_id=profile.pk if profile else None
    )
    return services.connection_finish(state=state_of(url), code="good")


@pytest.fixture
def alice_books(fakebooks, alice) -> Connection:
    """alice's books connected, their chart of accounts fetched, the mapping complete."""
    connection = connect(alice)
    for role, code in (("fee_revenue", "200"), ("client_money", "090")):
        services.mapping_set(actor=OPS, connection_id=connection.pk, role=role, account_code=code)
    return connection


def job_through(
    connection: Connection, *, object_type: str, object_id: str, action: str
) -> SyncJob:
    """A job created as the engine creates it and run once (failing, retrying or synced)."""
    job, _ = services.job_ensure(
        connection=connection, object_type=object_type, object_id=object_id, action=action
    )
    services.job_run(job_id=job.pk)
    return reload(job)


def reload(job: SyncJob) -> SyncJob:
    """The job as stored (a protected FSM field cannot be refreshed in place)."""
    return SyncJob.objects.get(pk=job.pk)


def staff(username: str, role: str):
    user = build_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def fiona(client):
    """fiona works in finance: she operates the syncs."""
    client.force_login(staff("fiona", "finance"))
    return client


@pytest.fixture
def eddie(client):
    """eddie is an engineer: he sees the connections, not the customers' jobs."""
    client.force_login(staff("eddie", "engineering"))
    return client
