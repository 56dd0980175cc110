"""`make run`'s demo: the platform's own books connected to the Xero sandbox, over real HTTP.

The connection goes through the same OAuth dance a finance operator's click does (authorize,
the sandbox's consent redirect, the code exchanged with its PKCE verifier, the organisation
chosen), then maps the sandbox's chart of accounts and queues the events already in the
outbox, so the console shows syncs completing (and, for the INR transfers the sandbox
organisation has no currency for, failing with Xero's reason). The plumbing is shared with
the other accounting sandboxes (accounting/demo.py).
"""

from __future__ import annotations

from django.conf import settings

from integrations.connectors.accounting import demo as shared
from integrations.connectors.accounting.demo import mapping_apply as mapping_apply
from integrations.connectors.accounting.xero.client import PROVIDER
from integrations.connectors.accounting.xero.handlers import HANDLERS
from integrations.sync import demo as sync_demo
from integrations.sync.models import Connection

# The sandbox organisation's seeded chart (integrations/simulators/xero/).
SANDBOX_MAPPING = {
    "fee_revenue": "200",
    "fx_margin_revenue": "270",
    "client_money": "091",
    "client_money:EUR": "092",
    "client_money:USD": "093",
    "customer_funds": "810",
    "payout_clearing": "820",
    "wallet_bank": "090",
    "bank_fees": "404",
    "funding_clearing": "820",
}


def connect_by_redirect(*, connection: Connection, authorization_url: str) -> Connection:
    return sync_demo.connect_by_redirect(connection=connection, authorization_url=authorization_url)


def events_replay(*, limit: int = 10_000) -> int:
    return sync_demo.events_replay(HANDLERS, limit=limit)


def sandbox_autoconnect() -> int:
    """Connect the platform's books to the Xero sandbox once (a scan). 1 when it did."""
    if not settings.XERO_SANDBOX_AUTOCONNECT or settings.XERO_CONNECTOR != "sandbox":
        return 0
    return shared.autoconnect(
        provider=PROVIDER,
        profile_id=None,
        mapping=lambda connection: SANDBOX_MAPPING,
        handlers=HANDLERS,
    )
