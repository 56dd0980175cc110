"""Celery tasks of integrations: a few lines each, taking ids and calling services.

Stable names (`integrations.*`) so queued messages survive refactoring. Every task claims its
row before acting (see integrations/claims.py) and is safe to run twice; none uses a countdown
longer than integrations.checks.MAX_COUNTDOWN_SECONDS (long waits are `next_attempt_at`
columns scanned by `integrations.scan_due`). Every task retries transient database errors with
backoff (the app's task class, fintech/core/task_base.py).
"""

from __future__ import annotations

import logging

from celery import Task, shared_task

from fintech.core.errors import is_transient_db_error
from fintech.core.services import outbox_requeue
from integrations import relay
from integrations.checks import countdown
from integrations.claims import publish_taken

logger = logging.getLogger(__name__)


@shared_task(name="integrations.outbox_relay", ignore_result=True)
def outbox_relay_task() -> int:
    return relay.outbox_relay().published


@shared_task(name="integrations.event_dispatch", ignore_result=True)
def event_dispatch(event_id: str) -> int:
    try:
        return relay.event_dispatch(event_id=event_id)
    except Exception as exc:
        if is_transient_db_error(exc):
            # The task class retries it with backoff. Nothing to record: writing "pending"
            # now would need the database that just failed.
            raise
        # Put it back for the relay: at least once, and the fan-out is idempotent per event.
        logger.exception("event_dispatch %s failed; the event goes back to pending", event_id)
        try:
            outbox_requeue(event_ids=[event_id])
        except Exception:  # the database again: the outbox scan finds the event after its lease
            logger.exception("event_dispatch %s: could not put it back to pending", event_id)
        raise


@shared_task(name="integrations.webhook_deliver", ignore_result=True)
def webhook_deliver(delivery_id: str) -> str:
    from integrations.webhooks.services import delivery_attempt

    return delivery_attempt(delivery_id=int(delivery_id))


@shared_task(name="integrations.inbound_process", ignore_result=True)
def inbound_process(inbound_id: str) -> str:
    from integrations.inbound.services import inbound_process as process

    return process(inbound_id=inbound_id)


@shared_task(name="integrations.inbound_drain", ignore_result=True)
def inbound_drain() -> int:
    """Publish `inbound_process` for the ids the webhook endpoint pushed (see
    integrations/inbound/handoff.py)."""
    from integrations.inbound.handoff import drain

    return drain()


@shared_task(name="integrations.payout_submit", ignore_result=True)
def payout_submit(instruction_id: str) -> str:
    from integrations.connectors.payout.sandbox.handlers import payout_submit as submit

    return submit(instruction_id=int(instruction_id))


@shared_task(name="integrations.kyc_check_create", ignore_result=True)
def kyc_check_create(check_id: str) -> str:
    from integrations.connectors.kyc.sandbox.handlers import kyc_check_create as create

    return create(check_id=int(check_id))


@shared_task(name="integrations.scan_due", ignore_result=True)
def scan_due() -> dict[str, int]:
    """Beat: publish whatever is due in the database (retries, messages lost while Redis was
    down, rows whose worker died). The database is the source of truth, Redis only a nudge."""
    from integrations.connectors.kyc.sandbox.handlers import kyc_checks_due
    from integrations.connectors.payout.sandbox.handlers import payouts_due
    from integrations.inbound.handoff import drain
    from integrations.inbound.services import inbound_due
    from integrations.models import InboundWebhook, KycCheck, PayoutInstruction, WebhookDelivery
    from integrations.webhooks.services import deliveries_due

    return {
        "deliveries": publish_taken(webhook_deliver, WebhookDelivery, deliveries_due()),
        # Ids the webhook endpoint handed off that no drain took (a lost kick or worker).
        "inbound_handed_off": drain(),
        "inbound": publish_taken(inbound_process, InboundWebhook, inbound_due()),
        "payouts": publish_taken(payout_submit, PayoutInstruction, payouts_due()),
        "kyc_checks": publish_taken(kyc_check_create, KycCheck, kyc_checks_due()),
    }


# The partners' simulators (served by this project for the sandbox).


@shared_task(
    name="integrations.sandbox_payout_advance", bind=True, ignore_result=True, max_retries=20
)
def sandbox_payout_advance(self: Task, payout_id: str) -> str:
    from integrations.simulators.payout import payout_advance

    outcome = payout_advance(payout_id=payout_id)
    if outcome == "retry":  # our webhook endpoint did not acknowledge: send it again
        raise self.retry(countdown=countdown(5))
    return outcome


@shared_task(
    name="integrations.sandbox_kyc_complete", bind=True, ignore_result=True, max_retries=20
)
def sandbox_kyc_complete(self: Task, check_id: str) -> str:
    from integrations.simulators.kyc import check_complete

    outcome = check_complete(check_id=check_id)
    if outcome == "retry":
        raise self.retry(countdown=countdown(5))
    return outcome
