"""`make run`'s demo: the platform's own books connected to the Xero sandbox, over real HTTP.

The connection goes through the same OAuth dance a finance operator's click does (authorize,
the sandbox's consent redirect, the code exchanged with its PKCE verifier, the organisation
chosen), then maps the sandbox's chart of accounts and queues the events already in the
outbox, so the console shows syncs completing (and, for the INR transfers the sandbox
organisation has no currency for, failing with Xero's reason).
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.db import transaction

from fintech.core.models import OutboxEvent
from fintech.core.services import Actor
from integrations.connectors.accounting.xero.client import PROVIDER
from integrations.connectors.accounting.xero.client import _allow_private as allow_private
from integrations.connectors.accounting.xero.handlers import HANDLERS
from integrations.errors import IntegrationError
from integrations.http import pinned_session
from integrations.sync import services
from integrations.sync.models import Connection

logger = logging.getLogger(__name__)
ACTOR = Actor.system("demo")
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
    """Follow the provider's authorize step as a browser would (the sandbox consents at
    once) and finish with the code it redirects back with."""
    with pinned_session(authorization_url, allow_private=allow_private()) as session:
        answer = session.get(authorization_url, allow_redirects=False, timeout=15)
    location = answer.headers.get("Location", "")
    query = parse_qs(urlsplit(location).query)
    if answer.status_code not in (302, 303) or "code" not in query:
        raise IntegrationError(f"the authorize step answered {answer.status_code}, no code")
    return services.connection_finish(state=query["state"][0], code=query["code"][0])


def mapping_apply(*, connection: Connection, mapping: dict[str, str]) -> None:
    connection = Connection.objects.get(pk=connection.pk)  # its currencies, as just fetched
    for role in services.adapter_for(connection.provider).roles(connection=connection):
        if role.name in mapping:
            services.mapping_set(
                actor=ACTOR,
                connection_id=connection.pk,
                role=role.name,
                account_code=mapping[role.name],
            )


def events_replay(*, limit: int = 10_000) -> int:
    """Queue the jobs of events already dispatched (a backfill): jobs are unique, so an
    event replayed twice adds nothing."""
    replayed = 0
    events = OutboxEvent.objects.filter(type__in=list(HANDLERS)).order_by("occurred_at", "pk")
    for event in events[:limit].iterator():
        with transaction.atomic():
            HANDLERS[event.type](event)
        replayed += 1
    return replayed


def sandbox_autoconnect() -> int:
    """Connect the platform's books to the Xero sandbox once (a scan: the web server must be
    up for the HTTP dance; until it is, the next tick tries again). Returns 1 when it did."""
    if not settings.XERO_SANDBOX_AUTOCONNECT or settings.XERO_CONNECTOR != "sandbox":
        return 0
    if Connection.objects.filter(provider=PROVIDER, owner=Connection.Owner.PLATFORM).exists():
        return 0
    try:
        connection, url = services.connection_start(actor=ACTOR, provider=PROVIDER, profile_id=None)
        connection = connect_by_redirect(connection=connection, authorization_url=url)
    except Exception as exc:  # the web server is not up yet: try again next tick
        Connection.objects.filter(
            provider=PROVIDER,
            owner=Connection.Owner.PLATFORM,
            status=Connection.Status.AUTHORIZING,
        ).delete()
        logger.info("xero sandbox not reachable yet: %s", exc)
        return 0
    mapping_apply(connection=connection, mapping=SANDBOX_MAPPING)
    events_replay()
    return 1
