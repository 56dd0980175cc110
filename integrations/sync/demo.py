"""For demos and tests: finish a connection's OAuth dance as a browser would, against a
sandbox that consents at once (the accounting and CRM sandboxes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import parse_qs, urlsplit

from django.db import transaction

from fintech.core.models import OutboxEvent
from integrations.errors import IntegrationError
from integrations.http import pinned_session
from integrations.sync import services
from integrations.sync.adapters import adapter_for
from integrations.sync.models import Connection


def connect_by_redirect(*, connection: Connection, authorization_url: str) -> Connection:
    """Follow the provider's authorize step (the sandbox consents at once) and finish with the
    code it redirects back with, and whatever else the redirect carries (Intuit's realmId)."""
    allow_private = adapter_for(connection.provider).oauth().allow_private
    with pinned_session(authorization_url, allow_private=allow_private) as session:
        answer = session.get(authorization_url, allow_redirects=False, timeout=15)
    location = answer.headers.get("Location", "")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    if answer.status_code not in (302, 303) or "code" not in query:
        raise IntegrationError(f"the authorize step answered {answer.status_code}, no code")
    extras = {k: v for k, v in query.items() if k not in ("code", "state")}
    return services.connection_finish(state=query["state"], code=query["code"], callback=extras)


def events_replay(
    handlers: Mapping[str, Callable[[OutboxEvent], None]], *, limit: int = 10_000
) -> int:
    """Queue the jobs of events already dispatched (a backfill) through a connector's
    handlers: jobs are unique, so an event replayed twice adds nothing."""
    replayed = 0
    events = OutboxEvent.objects.filter(type__in=list(handlers)).order_by("occurred_at", "pk")
    for event in events[:limit].iterator():
        with transaction.atomic():
            handlers[event.type](event)
        replayed += 1
    return replayed
