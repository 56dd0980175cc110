"""`make run`'s demo: the platform's CRM connected to the CRM sandbox over real HTTP, by the
same OAuth dance an operator's click does (the Xero demo's `connect_by_redirect`), with an
account manager (owner) in the sandbox portal; then the events already in the outbox are
replayed, so the sandbox shows companies with their lifecycle and the console the jobs."""

from __future__ import annotations

import logging

import requests
from django.conf import settings

from fintech.core.services import Actor
from integrations.connectors.crm.hubspot.client import PROVIDER
from integrations.connectors.crm.hubspot.handlers import HANDLERS
from integrations.sync import demo as sync_demo
from integrations.sync import services
from integrations.sync.demo import connect_by_redirect
from integrations.sync.models import Connection

logger = logging.getLogger(__name__)
ACTOR = Actor.system("demo")


def _owner_seed(portal_id: str) -> None:
    """One account manager (owner) in the sandbox portal, over its control endpoint."""
    url = f"{settings.CRM_SANDBOX_BASE_URL}/control/{portal_id}"
    auth = {"Authorization": f"Bearer {settings.CRM_SANDBOX_CLIENT_SECRET}"}
    if requests.get(url, headers=auth, timeout=10).json().get("owners"):
        return
    requests.post(
        f"{url}/owners",
        json={"email": "am.demo@example.com", "firstName": "Ada", "lastName": "Manager"},
        headers=auth,
        timeout=10,
    )


def sandbox_autoconnect() -> int:
    """Connect the platform's CRM to the sandbox once (a scan: until the web server is up,
    the next tick tries again). Returns 1 when it did."""
    if not settings.HUBSPOT_SANDBOX_AUTOCONNECT or settings.HUBSPOT_CONNECTOR != "sandbox":
        return 0
    if Connection.objects.filter(provider=PROVIDER, owner=Connection.Owner.PLATFORM).exists():
        return 0
    try:
        connection, url = services.connection_start(actor=ACTOR, provider=PROVIDER, profile_id=None)
        connection = connect_by_redirect(connection=connection, authorization_url=url)
        _owner_seed(connection.tenant_id)
    except Exception as exc:  # the web server is not up yet: try again next tick
        Connection.objects.filter(
            provider=PROVIDER,
            owner=Connection.Owner.PLATFORM,
            status=Connection.Status.AUTHORIZING,
        ).delete()
        logger.info("CRM sandbox not reachable yet: %s", exc)
        return 0
    sync_demo.events_replay(HANDLERS)
    return 1
