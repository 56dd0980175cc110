"""`make run`'s demo plumbing, shared by the accounting connectors' sandboxes: connect once
(the OAuth dance of integrations/sync/demo.py), apply an account mapping through the
services, and queue the events already in the outbox as jobs (a backfill)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from django.db.models import Q

from fintech.core.models import OutboxEvent
from fintech.core.services import Actor
from integrations.sync import services
from integrations.sync.demo import connect_by_redirect, events_replay
from integrations.sync.models import Connection

logger = logging.getLogger(__name__)
ACTOR = Actor.system("demo")


def mapping_apply(*, connection: Connection, mapping: Mapping[str, str]) -> None:
    connection = Connection.objects.get(pk=connection.pk)  # its currencies, as just fetched
    for role in services.adapter_for(connection.provider).roles(connection=connection):
        if role.name in mapping:
            services.mapping_set(
                actor=ACTOR,
                connection_id=connection.pk,
                role=role.name,
                account_code=mapping[role.name],
            )


def autoconnect(
    *,
    provider: str,
    profile_id: int | None,
    mapping: Callable[[Connection], Mapping[str, str]],
    handlers: Mapping[str, Callable[[OutboxEvent], None]],
) -> int:
    """Connect these books to a provider's sandbox once (a scan: the web server must be up
    for the HTTP dance; until it is, the next tick tries again). Returns 1 when it did."""
    owner = Connection.Owner.PROFILE if profile_id else Connection.Owner.PLATFORM
    whose = Connection.objects.filter(provider=provider, owner=owner).filter(
        Q(profile_id=profile_id) if profile_id else Q(profile__isnull=True)
    )
    if whose.exists():
        return 0
    try:
        connection, url = services.connection_start(
            actor=ACTOR, provider=provider, profile_id=profile_id
        )
        connection = connect_by_redirect(connection=connection, authorization_url=url)
    except Exception as exc:  # the web server is not up yet: try again next tick
        whose.filter(status=Connection.Status.AUTHORIZING).delete()
        logger.info("%s sandbox not reachable yet: %s", provider, exc)
        return 0
    mapping_apply(connection=connection, mapping=mapping(connection))
    events_replay(handlers)
    return 1
