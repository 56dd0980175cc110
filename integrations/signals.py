"""The after-commit kick of the outbox relay (connected in IntegrationsConfig.ready).

fintech never imports integrations: it only writes outbox rows. Here we watch those rows being
created and, once the transaction that wrote them commits, ask a worker to relay now rather
than at the next beat tick. The kick is an optimisation: if Redis is down it is lost, the rows
wait, and the beat relay picks them up once Redis is back.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connections, transaction

from fintech.core.models import OutboxEvent

logger = logging.getLogger(__name__)


def relay_kick() -> None:
    from integrations.tasks import outbox_relay_task

    try:
        outbox_relay_task.apply_async(retry=False)
    except Exception:  # the broker is down: the beat relay will find the rows later
        logger.warning("outbox relay kick not published (broker unavailable); beat will relay")


def _kick_pending(using: str) -> bool:
    # One kick per transaction, however many events it wrote.
    return any(entry[1] is relay_kick for entry in connections[using].run_on_commit)


def outbox_event_saved(
    sender: type[OutboxEvent], instance: OutboxEvent, created: bool, using: str, **kwargs: Any
) -> None:
    if not created or _kick_pending(using):
        return
    transaction.on_commit(relay_kick, using=using, robust=True)
