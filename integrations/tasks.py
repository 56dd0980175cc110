"""Celery tasks of the integrations core: the outbox relay, the beat scanner, retention.

Tasks are a few lines each, taking ids and calling services; each package keeps its own in
its tasks.py (webhooks, inbound, every connector, the simulators), imported at start-up by
its `register()` (integrations/registry.py), which is how the worker knows them.

Stable names (`integrations.*`) so queued messages survive refactoring. Every task claims its
row before acting (see integrations/claims.py) and is safe to run twice; none uses a
countdown: every delayed action is a due-time column (`next_attempt_at`, `next_step_at`)
scanned by `integrations.scan_due`, so nothing waits in Redis. Every task retries transient
database errors with short backoff (the app's task class, fintech/core/task_base.py).
Services never import a tasks module: they publish by name (claims.task_named).
"""

from __future__ import annotations

import logging

from celery import shared_task

from fintech.core.health import beat_tick_record
from integrations import registry, relay

logger = logging.getLogger(__name__)


@shared_task(name="integrations.outbox_relay", ignore_result=True)
def outbox_relay_task() -> int:
    return relay.outbox_relay().published


@shared_task(name="integrations.event_dispatch", ignore_result=True)
def event_dispatch(event_id: str) -> int:
    # On failure nothing is written and nothing needs to be: the event's lease lapses and the
    # relay hands it out again (relay.py). A transient database error is retried by the task
    # class with backoff.
    return relay.event_dispatch(event_id=event_id)


@shared_task(name="integrations.scan_due", ignore_result=True)
def scan_due() -> dict[str, int]:
    """Beat: publish whatever is due in the database (retries, messages lost while Redis was
    down, rows whose worker died). The database is the source of truth, Redis only a nudge.
    The scans are the ones the packages registered (integrations/registry.py). Each run is
    beat's tick for the readiness check (fintech/core/health.py)."""
    beat_tick_record()
    published: dict[str, int] = {}
    for name, scan in registry.scans().items():
        # One scan that fails (a poison row, the database blinking) must not stop the others:
        # each is retried at the next tick anyway.
        try:
            published[name] = scan()
        except Exception:
            logger.exception("scan_due: the %s scan failed; the next tick tries again", name)
            published[name] = -1
    return published


@shared_task(name="integrations.retention_purge", ignore_result=True)
def retention_purge() -> dict[str, int]:
    """Beat (hourly): delete finished deliveries and inbound messages past their retention."""
    from integrations.retention import retention_purge as purge

    return purge()
