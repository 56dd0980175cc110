"""Celery tasks of integrations: a few lines each, taking ids and calling services.

Stable names (`integrations.*`) so queued messages survive refactoring. Every task claims its
row before acting (see integrations/claims.py) and is safe to run twice; none uses a
countdown: every delayed action is a due-time column (`next_attempt_at`, `next_step_at`)
scanned by `integrations.scan_due`, so nothing waits in Redis. Every task retries transient
database errors with short backoff (the app's task class, fintech/core/task_base.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import shared_task

from integrations import relay
from integrations.claims import publish_taken

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
    from integrations.models import (
        InboundWebhook,
        KycCheck,
        PayoutInstruction,
        SandboxKycCheck,
        SandboxPayout,
        WebhookDelivery,
    )
    from integrations.simulators.kyc import check_steps_due
    from integrations.simulators.payout import payout_steps_due
    from integrations.webhooks.services import deliveries_due

    scans: dict[str, Callable[[], int]] = {
        "deliveries": lambda: publish_taken(webhook_deliver, WebhookDelivery, deliveries_due()),
        # Ids the webhook endpoint handed off that no drain took (a lost kick or worker).
        "inbound_handed_off": drain,
        "inbound": lambda: publish_taken(inbound_process, InboundWebhook, inbound_due()),
        "payouts": lambda: publish_taken(payout_submit, PayoutInstruction, payouts_due()),
        "kyc_checks": lambda: publish_taken(kyc_check_create, KycCheck, kyc_checks_due()),
        # The sandbox simulators' next steps (payout statuses, KYC results).
        "sandbox_payouts": lambda: publish_taken(
            sandbox_payout_advance, SandboxPayout, payout_steps_due()
        ),
        "sandbox_kyc_checks": lambda: publish_taken(
            sandbox_kyc_complete, SandboxKycCheck, check_steps_due()
        ),
    }
    published: dict[str, int] = {}
    for name, scan in scans.items():
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


# The partners' simulators (served by this project for the sandbox). A step is a row with a
# due time (integrations/simulators/common.py): a message only wakes a worker; a step not
# acknowledged by our endpoint is due again a few seconds later, found by scan_due.


@shared_task(name="integrations.sandbox_payout_advance", ignore_result=True)
def sandbox_payout_advance(payout_id: str) -> str:
    from integrations.simulators.payout import payout_advance

    return payout_advance(payout_id=payout_id)


@shared_task(name="integrations.sandbox_kyc_complete", ignore_result=True)
def sandbox_kyc_complete(check_id: str) -> str:
    from integrations.simulators.kyc import check_complete

    return check_complete(check_id=check_id)
