"""A provider for engine tests: an adapter whose actions are plain functions the test sets."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from integrations.sync.adapters import (
    AccountInfo,
    JobContext,
    OAuthConfig,
    Organisation,
    Role,
    Skipped,
    Synced,
    Tenant,
)
from integrations.sync.models import Connection

PROVIDER = "fakebooks"


@dataclass
class FakeAdapter:
    provider: str = PROVIDER
    kind: str = "accounting"
    token_url: str = "http://127.0.0.1:9/token"
    action: Callable[[JobContext], Synced | Skipped] = lambda c: Synced(external_id="X-1")
    calls: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    chart: list[AccountInfo] = field(
        default_factory=lambda: [
            AccountInfo("a1", "200", "Fees", "REVENUE", "REVENUE", "ACTIVE"),
            AccountInfo("a2", "090", "Client money", "BANK", "ASSET", "ACTIVE"),
            AccountInfo("a3", "299", "Old fees", "REVENUE", "REVENUE", "ARCHIVED"),
        ]
    )

    def oauth(self) -> OAuthConfig:
        return OAuthConfig(
            client_id="client",
            client_secret="secret",
            authorize_url=self.token_url.replace("/token", "/authorize"),
            token_url=self.token_url,
            revoke_url="",
            scope="offline_access",
            allow_private=True,
        )

    def tenants(self, *, access_token: str, callback: Mapping[str, str]) -> list[Tenant]:
        return [Tenant("t-1", "Fake Org")]

    def organisation(self, *, connection: Connection) -> Organisation:
        return Organisation(base_currency="GBP", currencies=("GBP", "EUR"))

    def accounts(self, *, connection: Connection) -> list[AccountInfo]:
        return list(self.chart)

    def roles(self, *, connection: Connection) -> tuple[Role, ...]:
        return (
            Role("fee_revenue", "fees we earn", ("REVENUE",)),
            Role("client_money", "the bank account of customers' money", ("BANK",)),
        )

    def perform(self, context: JobContext) -> Synced | Skipped:
        with self.lock:
            self.calls.append(context.job.pk)
        return self.action(context)

    def disconnect(self, *, connection: Connection) -> None:
        pass


def mapped_connection(adapter: FakeAdapter, **fields: Any) -> Connection:
    """An active platform connection of the fake provider with a complete mapping."""
    from django.utils import timezone

    from integrations.sync.models import AccountMapping, ExternalAccount

    connection = Connection.objects.create(
        provider=adapter.provider,
        owner=Connection.Owner.PLATFORM,
        status=Connection.Status.ACTIVE,
        tenant_id="t-1",
        access_token="access-1",
        refresh_token="refresh-1",
        token_expires_at=timezone.now() + timedelta(minutes=30),
        **fields,
    )
    for account in adapter.chart:
        ExternalAccount.objects.create(
            connection=connection,
            external_id=account.external_id,
            code=account.code,
            name=account.name,
            type=account.type,
            status=account.status,
        )
    AccountMapping.objects.create(connection=connection, role="fee_revenue", account_code="200")
    AccountMapping.objects.create(connection=connection, role="client_money", account_code="090")
    return connection
