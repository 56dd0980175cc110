"""Recalls and traces of disputed payouts at the payout partner (sandbox).

- `dispute.opened` (relayed) -> one PayoutRecall per dispute -> `recall_submit` sends it
  (retried on transient errors by `next_attempt_at`, found by the `payout_recalls` scan).
- Their `payout.recall_answered` webhook (verified and stored by integrations.inbound) ->
  `on_recall_answered` records the answer and puts the dispute under review through the
  dispute service. An answer for a dispute already decided is recorded and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fintech.core.errors import NotFound, TransitionNotAllowed
from fintech.core.models import OutboxEvent
from fintech.core.services import Actor
from fintech.disputes.models import Dispute
from fintech.disputes.services import dispute_review
from integrations import claims
from integrations.connectors.payout.sandbox import mapping
from integrations.connectors.payout.sandbox.client import PARTNER, PayoutSandboxClient
from integrations.connectors.retry import partner_request_retry
from integrations.errors import PermanentError, TransientError
from integrations.inbound.providers import Outcome, ParsedEvent
from integrations.models import InboundWebhook, PayoutRecall

ACTOR = Actor.system("payout-sandbox")
RECALL_TASK = "integrations.payout_recall_submit"
LEASE_SECONDS = 30  # above the client's HTTP timeout, as for payouts
BACKOFF_SECONDS = (10, 60, 300, 900, 3600)

Status = PayoutRecall.Status


def on_dispute_opened(event: OutboxEvent) -> None:
    """Runs inside the event's dispatch transaction: create the recall once. A dispute the
    partner itself raised (a return) needs no recall, nor does a wallet funding's (no payout)."""
    if event.payload.get("reason") == Dispute.Reason.PARTNER_RETURN:
        return
    if not event.payload.get("transfer_id"):
        return
    now = timezone.now()
    recall, created = PayoutRecall.objects.get_or_create(
        partner=PARTNER,
        dispute_id=int(event.payload["id"]),
        defaults={
            "transfer_reference": event.payload["transfer_reference"],
            "answer": {"request": mapping.recall_request(dispute_payload=event.payload)},
            "next_attempt_at": now,
            "enqueued_at": now,
        },
    )
    if created:
        claims.enqueue_on_commit(RECALL_TASK, PayoutRecall, recall.pk)


def recall_submit(*, recall_id: int) -> str:
    ready = Q(status=Status.PENDING, next_attempt_at__lte=timezone.now())
    if not claims.claim_one(PayoutRecall, recall_id, lease_seconds=LEASE_SECONDS, ready=ready):
        return "skipped"
    recall = PayoutRecall.objects.get(pk=recall_id)
    client = PayoutSandboxClient.from_settings()
    try:
        # No transaction open during the HTTP call; the claim keeps other workers off.
        answer = client.recall_create(recall.answer["request"])
    except TransientError as exc:
        delay = BACKOFF_SECONDS[min(recall.attempts, len(BACKOFF_SECONDS)) - 1]
        claims.release(
            PayoutRecall, recall.pk, last_error=exc.message[:1000],
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )  # fmt: skip
        return "retry"
    except PermanentError as exc:
        claims.release(PayoutRecall, recall.pk, status=Status.ERROR, last_error=exc.message[:1000])
        return "error"
    finally:
        client.session.close()
    # Only from pending: the answer's webhook may already have come in.
    PayoutRecall.objects.filter(pk=recall.pk, status=Status.PENDING).update(status=Status.SENT)
    claims.release(
        PayoutRecall, recall.pk, external_id=str(answer.get("payout_id", ""))[:100], last_error=""
    )
    return "sent"


def recall_retry(*, actor: Actor, recall_id: int, reason: str) -> PayoutRecall:
    """An operator's retry of a recall the partner refused (status `error`)."""
    row = partner_request_retry(
        actor=actor, model=PayoutRecall, pk=recall_id, reason=reason, task=RECALL_TASK
    )
    assert isinstance(row, PayoutRecall)
    return row


def recalls_due() -> list[int]:
    return claims.take_due(
        PayoutRecall,
        ready=Q(status=Status.PENDING, next_attempt_at__lte=timezone.now()),
        limit=200,
        republish_after_seconds=LEASE_SECONDS,
        due_field="next_attempt_at",
    )


def on_recall_answered(row: InboundWebhook, event: ParsedEvent) -> Outcome:
    reference = str(event.data.get("recall_reference", ""))
    if not reference.startswith("dispute-") or not reference[8:].isdigit():
        raise PermanentError(f"recall answer with an unknown recall_reference {reference!r}")
    dispute_id = int(reference[8:])
    answer = {k: event.data.get(k) for k in ("outcome", "type", "message", "payout_id")}
    answer["occurred_at"] = event.occurred_at.isoformat()
    with transaction.atomic():
        recall = (
            PayoutRecall.objects.select_for_update()
            .filter(partner=PARTNER, dispute_id=dispute_id)
            .first()
        )
        if recall is None:
            raise PermanentError(f"no recall for dispute {dispute_id}")
        if recall.status == Status.ANSWERED:
            return Outcome("ignored", "the recall was already answered")
        recall.status = Status.ANSWERED
        recall.answer = {**recall.answer, "answer": answer}
        recall.save(update_fields=["status", "answer", "updated_at"])
        try:
            dispute_review(
                actor=ACTOR, dispute_id=dispute_id, partner_answer=answer,
                reason=f"payout partner answered the {answer['type']}: {answer['outcome']}",
            )  # fmt: skip
            note = "dispute under review"
        except TransitionNotAllowed as exc:
            note = f"dispute unchanged: {exc.message}"
        except NotFound as exc:
            raise PermanentError(exc.message) from exc
    return Outcome("processed", note)
