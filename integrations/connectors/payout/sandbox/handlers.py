"""Payout partner (sandbox) handlers: our events out, their status webhooks in.

- `transfer.submitted` (relayed) -> one PayoutInstruction per transfer -> `payout_submit`
  creates the payout at the partner (retried on transient errors by `next_attempt_at`).
- Their webhooks (verified and stored by integrations.inbound) -> `on_partner_webhook` moves
  the transfer through the transfer services, which post the ledger entries: sent ->
  completed, failed -> failed, returned -> failed (or refunded if already completed).
  A status older than the last one applied (by the partner's occurred-at) is ignored, so
  webhooks arriving out of order or twice change nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fintech.core.errors import DomainError, NotFound, TransitionNotAllowed
from fintech.core.models import OutboxEvent
from fintech.core.money import format_minor
from fintech.core.services import Actor
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_complete, transfer_fail, transfer_refund
from integrations import claims
from integrations.connectors.payout.sandbox import mapping
from integrations.connectors.payout.sandbox.client import PARTNER, PayoutSandboxClient
from integrations.connectors.retry import partner_request_retry
from integrations.errors import PermanentError, TransientError
from integrations.inbound.providers import Outcome, ParsedEvent
from integrations.models import InboundWebhook, PayoutInstruction

ACTOR = Actor.system("payout-sandbox")
# The claim: above the client's HTTP timeout (10 s), so a killed worker's row is taken over
# by the scanner within about half a minute.
LEASE_SECONDS = 30
# Seconds before submission attempts 2, 3, ...; the last value repeats.
SUBMIT_BACKOFF = (10, 60, 300, 900, 3600)
# Its task (tasks.py), published by name: tasks import this module, not the other way round.
SUBMIT_TASK = "integrations.payout_submit"

Status = PayoutInstruction.Status


def on_transfer_submitted(event: OutboxEvent) -> None:
    """Runs inside the event's dispatch transaction: create the instruction once."""
    now = timezone.now()
    instruction, created = PayoutInstruction.objects.get_or_create(
        partner=PARTNER,
        transfer_id=int(event.payload["id"]),
        defaults={
            "transfer_reference": event.payload["reference"],
            "next_attempt_at": now,
            "enqueued_at": now,
        },
    )
    if created:
        claims.enqueue_on_commit(SUBMIT_TASK, PayoutInstruction, instruction.pk)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=SUBMIT_BACKOFF[min(attempts, len(SUBMIT_BACKOFF)) - 1])


def payout_submit(*, instruction_id: int) -> str:
    now = timezone.now()
    ready = Q(status=Status.PENDING, next_attempt_at__lte=now)
    if not claims.claim_one(
        PayoutInstruction, instruction_id, lease_seconds=LEASE_SECONDS, ready=ready
    ):
        return "skipped"
    instruction = PayoutInstruction.objects.get(pk=instruction_id)
    transfer = Transfer.objects.select_related("beneficiary").get(pk=instruction.transfer_id)
    body = mapping.payout_request(
        event_payload={
            "reference": transfer.reference,
            "target_amount": format_minor(transfer.target_amount_minor, transfer.target_currency),
            "target_currency": transfer.target_currency,
        },
        beneficiary_name=transfer.beneficiary.holder_name,
    )
    try:
        # No transaction open during the HTTP call; the claim keeps other workers off.
        answer = PayoutSandboxClient.from_settings().payout_create(body)
    except TransientError as exc:
        claims.release(
            PayoutInstruction,
            instruction.pk,
            last_error=exc.message[:1000],
            next_attempt_at=timezone.now() + _backoff(instruction.attempts),
        )
        return "retry"
    except PermanentError as exc:
        claims.release(
            PayoutInstruction, instruction.pk, status=Status.ERROR, last_error=exc.message[:1000]
        )
        return "error"
    external_id = str(answer.get("id", ""))[:100]
    # Only from pending: a webhook may already have moved it further.
    PayoutInstruction.objects.filter(pk=instruction.pk, status=Status.PENDING).update(
        status=Status.SUBMITTED
    )
    claims.release(PayoutInstruction, instruction.pk, external_id=external_id, last_error="")
    return "submitted"


def payout_retry(*, actor: Actor, instruction_id: int, reason: str) -> PayoutInstruction:
    """An operator's retry of a payout the partner refused (status `error`)."""
    row = partner_request_retry(
        actor=actor, model=PayoutInstruction, pk=instruction_id, reason=reason, task=SUBMIT_TASK
    )
    assert isinstance(row, PayoutInstruction)
    return row


def payouts_due() -> list[int]:
    return claims.take_due(
        PayoutInstruction,
        ready=Q(status=Status.PENDING, next_attempt_at__lte=timezone.now()),
        limit=200,
        republish_after_seconds=LEASE_SECONDS,
        due_field="next_attempt_at",  # a retry goes out when due, not a lease later
    )


def _apply_to_transfer(status: str, transfer_id: int, reason: str) -> str:
    """Call the transfer service for a partner status; returns a note for the log."""
    try:
        if status == Status.SENT:
            transfer_complete(actor=ACTOR, transfer_id=transfer_id, reason="paid out by partner")
            return "transfer completed"
        if status == Status.FAILED:
            transfer_fail(actor=ACTOR, transfer_id=transfer_id, reason=reason)
            return "transfer failed"
        if status == Status.RETURNED:
            state = Transfer.objects.filter(pk=transfer_id).values_list("state", flat=True).first()
            if state == Transfer.State.COMPLETED:
                transfer_refund(actor=ACTOR, transfer_id=transfer_id, reason=reason)
                return "transfer refunded (payout returned)"
            transfer_fail(actor=ACTOR, transfer_id=transfer_id, reason=reason)
            return "transfer failed (payout returned)"
    except TransitionNotAllowed as exc:
        # Already moved (an operator, the sandbox API, or this status applied before): the
        # partner's status is recorded; the transfer is left as it is.
        return f"transfer unchanged: {exc.message}"
    except NotFound as exc:
        raise PermanentError(exc.message) from exc
    except DomainError as exc:
        raise PermanentError(f"{exc.code}: {exc.message}") from exc
    return "recorded"


def on_partner_webhook(row: InboundWebhook, event: ParsedEvent) -> Outcome:
    if event.type == mapping.RECALL_ANSWERED:
        from integrations.connectors.payout.sandbox.recalls import on_recall_answered

        return on_recall_answered(row, event)
    reference = str(event.data.get("client_reference", ""))
    payout_id = str(event.data.get("payout_id", ""))
    status = mapping.STATUS_BY_EVENT[event.type]
    with transaction.atomic():
        # Lock the instruction: two webhooks of one payout (sent and returned, say) are applied
        # one after the other, each comparing its occurred-at with what the other applied.
        instruction = (
            PayoutInstruction.objects.select_for_update()
            .filter(partner=PARTNER, transfer_reference=reference)
            .first()
        )
        if instruction is None:
            raise PermanentError(
                f"no payout for reference {reference!r} (payout {payout_id!r}): unknown transfer"
            )
        last = instruction.last_status_at
        if last is not None and event.occurred_at <= last:
            return Outcome(
                "ignored",
                f"stale: {event.type} at {event.occurred_at.isoformat()} is not newer than "
                f"the {instruction.status} status applied at {last.isoformat()}",
            )
        note = _apply_to_transfer(
            status, instruction.transfer_id, mapping.failure_reason(event.data)
        )
        instruction.status = status
        instruction.last_status_at = event.occurred_at
        if payout_id:
            instruction.external_id = payout_id[:100]
        instruction.save(update_fields=["status", "last_status_at", "external_id", "updated_at"])
    return Outcome("processed", note)
