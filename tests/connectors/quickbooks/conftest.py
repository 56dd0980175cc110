"""The Xero tests' builders (alice's suppliers, `send`) serve QuickBooks too, with QuickBooks'
account ids for the roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fintech.core.services import Actor
from integrations.sync import services
from integrations.sync.models import Connection, SyncJob
from tests.connectors.quickbooks.intuit import REALM, Intuit, IntuitServer
from tests.connectors.xero.conftest import alice_suppliers as alice_suppliers
from tests.connectors.xero.conftest import send as send

PLATFORM_ROLES = {
    "client_money": "35",
    "fee_receivable": "84",
    "fee_revenue": "79",
    "fx_margin_revenue": "80",
    "customer_funds": "92",
    "payout_clearing": "93",
    "fx_position": "94",
}
CUSTOMER_ROLES = {
    "wallet_bank": "36",
    "payout_clearing": "95",
    "bank_fees": "8",
    "funding_clearing": "96",
}


# --- a small Intuit on 127.0.0.1 (intuit.py) and the platform's books connected to it ---

OPS = Actor.system("test-quickbooks")
STANDIN_ROLES = {"client_money": "1", "fee_revenue": "2", "fx_margin_revenue": "3",
                 "customer_funds": "4", "fee_receivable": "8"}  # fmt: skip


@pytest.fixture
def intuit(settings):
    server = IntuitServer(Intuit())
    settings.QUICKBOOKS_CONNECTOR = "sandbox"  # 127.0.0.1 allowed
    settings.QUICKBOOKS_API_URL = f"{server.base}/v3"
    settings.QUICKBOOKS_TOKEN_URL = f"{server.base}/oauth2/tokens/bearer"
    settings.QUICKBOOKS_AUTHORIZE_URL = f"{server.base}/oauth2/authorize"
    settings.QUICKBOOKS_REVOKE_URL = f"{server.base}/oauth2/revoke"
    yield server.intuit
    server.stop()


def qbo_books(intuit: Intuit, **fields) -> Connection:
    """The platform's books connected to the stand-in (tokens as a code exchange leaves
    them), its chart fetched and mapped."""
    intuit.refresh_tokens["rt-first"] = True
    connection = Connection.objects.create(
        provider="quickbooks",
        owner=Connection.Owner.PLATFORM,
        status=Connection.Status.ACTIVE,
        tenant_id=REALM,
        tenant_name="Alice Books",
        access_token="at-first",
        refresh_token="rt-first",
        token_expires_at=timezone.now() + timedelta(hours=1),
        calls_per_minute=10_000,
        max_concurrent=10,
        **fields,
    )
    services.accounts_refresh(connection_id=connection.pk)
    for role, code in STANDIN_ROLES.items():
        services.mapping_set(actor=OPS, connection_id=connection.pk, role=role, account_code=code)
    return Connection.objects.get(pk=connection.pk)


@pytest.fixture
def books(intuit) -> Connection:
    return qbo_books(intuit)


def run(connection: Connection, *, object_type: str, object_id: str, action: str,
        depends_on: SyncJob | None = None) -> SyncJob:  # fmt: skip
    """A job made as the engine makes it, run once now."""
    job, _ = services.job_ensure(
        connection=connection, object_type=object_type, object_id=object_id, action=action,
        depends_on=depends_on,
    )  # fmt: skip
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    services.job_run(job_id=job.pk)
    return SyncJob.objects.get(pk=job.pk)
