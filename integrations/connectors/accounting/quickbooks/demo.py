"""`make run`'s demo: a business customer's books (QUICKBOOKS_SANDBOX_AUTOCONNECT_PROFILE,
Acme Trading Ltd) connected to the QuickBooks sandbox over real HTTP.

The same OAuth dance a customer's click makes (authorize, the sandbox's consent redirect with
the code and the company's realmId, the code exchanged with its PKCE verifier), then each
role mapped to the first active account of a fitting type in the sandbox company's chart, and
the events already in the outbox queued, so the console shows QuickBooks jobs beside Xero's.
"""

from __future__ import annotations

from django.conf import settings

from fintech.customers.models import Profile
from integrations.connectors.accounting import demo as shared
from integrations.connectors.accounting.demo import mapping_apply as mapping_apply
from integrations.connectors.accounting.quickbooks.client import PROVIDER
from integrations.connectors.accounting.quickbooks.handlers import HANDLERS
from integrations.sync import demo as sync_demo
from integrations.sync import services
from integrations.sync.models import Connection, ExternalAccount


def mapping_by_type(connection: Connection) -> dict[str, str]:
    """Role -> the first active account (by id) whose type fits it and, for a bank role, in
    the role's currency."""
    connection = Connection.objects.get(pk=connection.pk)  # its currencies, as just fetched
    accounts = list(
        ExternalAccount.objects.filter(connection=connection, status="ACTIVE").order_by("code")
    )
    chosen: dict[str, str] = {}
    for role in services.adapter_for(PROVIDER).roles(connection=connection):
        for account in accounts:
            if account.type not in role.account_types:
                continue
            if role.currency and account.currency and account.currency != role.currency:
                continue
            chosen[role.name] = account.code
            break
    return chosen


def connect_by_redirect(*, connection: Connection, authorization_url: str) -> Connection:
    return sync_demo.connect_by_redirect(connection=connection, authorization_url=authorization_url)


def events_replay(*, limit: int = 10_000) -> int:
    return sync_demo.events_replay(HANDLERS, limit=limit)


def sandbox_autoconnect() -> int:
    """Connect the demo customer's books to the QuickBooks sandbox once (a scan: until the
    web server answers, the next tick tries again). Returns 1 when it did."""
    if not settings.QUICKBOOKS_SANDBOX_AUTOCONNECT or settings.QUICKBOOKS_CONNECTOR != "sandbox":
        return 0
    profile_id = (
        Profile.objects.filter(legal_name=settings.QUICKBOOKS_SANDBOX_AUTOCONNECT_PROFILE)
        .values_list("pk", flat=True)
        .first()
    )
    if profile_id is None:
        return 0  # the demo data is not loaded yet
    return shared.autoconnect(
        provider=PROVIDER,
        profile_id=profile_id,
        mapping=mapping_by_type,
        handlers=HANDLERS,
    )
