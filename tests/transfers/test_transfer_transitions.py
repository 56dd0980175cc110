"""Every action from every state: legal ones move the transfer and leave exactly one transition
row, one audit row and one event; illegal ones raise TransitionNotAllowed and change nothing."""

import pytest
from django.apps import apps
from django.db import DatabaseError, transaction

from fintech.core.errors import NotFound, TransitionNotAllowed, ValidationFailed
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.core.services import Actor
from fintech.transfers.models import Transfer, TransferTransition
from ledger.selectors import entry_by_idempotency_key
from tests.transfers.conftest import OPS, STEP

pytestmark = pytest.mark.django_db

STATES = ["created", "funded", "processing", "completed", "failed", "cancelled", "refunded"]
ACTIONS = ["fund", "submit", "complete", "fail", "cancel", "refund"]

# The state machine, restated from ARCHITECTURE.md rather than read from the model.
LEGAL = {
    ("created", "fund"): "funded",
    ("created", "cancel"): "cancelled",
    ("funded", "submit"): "processing",
    ("funded", "cancel"): "cancelled",
    ("processing", "complete"): "completed",
    ("processing", "fail"): "failed",
    ("processing", "cancel"): "cancelled",  # before payout; the connector refuses after
    ("completed", "refund"): "refunded",
    ("failed", "refund"): "refunded",
}
EVENT = {
    "fund": "transfer.funded",
    "submit": "transfer.submitted",
    "complete": "transfer.completed",
    "fail": "transfer.failed",
    "cancel": "transfer.cancelled",
    "refund": "payment.refunded",
}
TIMESTAMP = {
    "funded": "funded_at",
    "processing": "submitted_at",
    "completed": "completed_at",
    "failed": "failed_at",
    "cancelled": "cancelled_at",
    "refunded": "refunded_at",
}


def counts(transfer):
    return (
        TransferTransition.objects.filter(transfer=transfer).count(),
        AuditEvent.objects.filter(target_type="transfers.transfer", target_id=str(transfer.pk))
        .exclude(action="transfer.create")
        .count(),
        # The transfer's own events; its ledger entries are announced separately.
        OutboxEvent.objects.exclude(type="ledger.entry.created").count(),
    )


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
def test_the_transition_matrix(make_transfer, state, action) -> None:
    transfer = make_transfer(state)
    transitions, audits, events = counts(transfer)
    updated_at = transfer.updated_at

    if (state, action) in LEGAL:
        STEP[action](actor=OPS, transfer_id=transfer.pk, reason="matrix")
        transfer.refresh_from_db()
        assert transfer.state == LEGAL[(state, action)]
        assert getattr(transfer, TIMESTAMP[transfer.state]) is not None
        assert counts(transfer) == (transitions + 1, audits + 1, events + 1)
        row = TransferTransition.objects.filter(transfer=transfer).last()
        assert (row.transition, row.source_state, row.target_state, row.reason) == (
            action,
            state,
            transfer.state,
            "matrix",
        )
        event = (
            OutboxEvent.objects.exclude(type="ledger.entry.created")
            .order_by("-occurred_at")
            .first()
        )
        assert event.type == EVENT[action]
        assert event.payload["state"] == transfer.state
        assert event.payload["previous_state"] == state
        assert event.payload["reference"] == transfer.reference
        assert AuditEvent.objects.filter(
            action=f"transfer.{action}", target_id=str(transfer.pk)
        ).exists()
    else:
        with pytest.raises(TransitionNotAllowed) as excinfo:
            STEP[action](actor=OPS, transfer_id=transfer.pk, reason="matrix")
        assert excinfo.value.status == 409
        assert action in excinfo.value.message
        assert state in excinfo.value.message
        transfer.refresh_from_db()
        assert transfer.state == state
        assert transfer.updated_at == updated_at
        assert counts(transfer) == (transitions, audits, events)


def test_the_matrix_covers_every_transition_the_model_declares() -> None:
    declared = {
        (source, t.name)
        for t in Transfer._meta.get_field("state").get_all_transitions(Transfer)
        for source in [t.source]
    }
    assert declared == set(LEGAL)


def test_actor_reason_and_request_id_are_recorded(make_transfer, ops) -> None:
    transfer = make_transfer("funded")
    actor = Actor.for_user(ops, request_id="req-42")
    STEP["submit"](actor=actor, transfer_id=transfer.pk, reason="  partner cut-off at 3pm ")
    row = TransferTransition.objects.filter(transfer=transfer).last()
    assert (row.actor_label, row.actor_user_id, row.request_id, row.reason) == (
        "user:ops",
        ops.pk,
        "req-42",
        "partner cut-off at 3pm",
    )
    audit = AuditEvent.objects.get(action="transfer.submit", target_id=str(transfer.pk))
    assert (audit.actor_id, audit.reason, audit.request_id) == (
        ops.pk,
        "partner cut-off at 3pm",
        "req-42",
    )
    submit_entry = entry_by_idempotency_key(idempotency_key=f"transfer:{transfer.reference}:submit")
    assert audit.data == {
        "reference": transfer.reference,
        "from": "funded",
        "to": "processing",
        "ledger_entries": [submit_entry.pk],
    }


def test_the_row_history_carries_the_actor(make_transfer) -> None:
    transfer = make_transfer("funded")
    TransferEvent = apps.get_model("transfers", "TransferEvent")
    update = TransferEvent.objects.filter(pgh_obj=transfer, pgh_label="update").last()
    assert update.state == "funded"
    assert update.pgh_context.metadata["actor"] == OPS.label
    # The creation too (inserted with SQL built once, through pghistory's context injection).
    created = TransferEvent.objects.get(pgh_obj=transfer, pgh_label="insert")
    assert created.pgh_context is not None
    assert created.pgh_context.metadata["actor"]


def test_failing_keeps_the_reason_on_the_transfer(make_transfer) -> None:
    transfer = make_transfer("processing")
    STEP["fail"](actor=OPS, transfer_id=transfer.pk, reason="beneficiary account closed")
    transfer.refresh_from_db()
    assert transfer.failure_reason == "beneficiary account closed"


@pytest.mark.parametrize(
    ("state", "action"), [("processing", "fail"), ("created", "cancel"), ("failed", "refund")]
)
@pytest.mark.parametrize("reason", ["", "   "])
def test_fail_cancel_and_refund_need_a_reason(make_transfer, state, action, reason) -> None:
    transfer = make_transfer(state)
    before = counts(transfer)
    with pytest.raises(ValidationFailed) as excinfo:
        STEP[action](actor=OPS, transfer_id=transfer.pk, reason=reason)
    assert [f.field for f in excinfo.value.fields] == ["reason"]
    transfer.refresh_from_db()
    assert transfer.state == state
    assert counts(transfer) == before


def test_a_reason_too_long_is_refused(make_transfer) -> None:
    transfer = make_transfer("created")
    with pytest.raises(ValidationFailed) as excinfo:
        STEP["cancel"](actor=OPS, transfer_id=transfer.pk, reason="x" * 2001)
    assert [f.code for f in excinfo.value.fields] == ["too_long"]


def test_an_unknown_transfer_is_not_found(db) -> None:
    with pytest.raises(NotFound):
        STEP["fund"](actor=OPS, transfer_id=987654321)


def test_the_state_field_cannot_be_assigned(make_transfer) -> None:
    transfer = make_transfer("created")
    with pytest.raises(AttributeError):
        transfer.state = "completed"


def test_the_timeline_cannot_be_rewritten_or_deleted(make_transfer) -> None:
    transfer = make_transfer("funded")
    rows = TransferTransition.objects.filter(transfer=transfer)
    with pytest.raises(DatabaseError), transaction.atomic():
        rows.update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        rows.delete()
    assert rows.count() == 2
    assert not rows.filter(reason="rewritten").exists()


def test_a_quote_cannot_be_changed_once_given(make_transfer) -> None:
    transfer = make_transfer("created")
    with pytest.raises(DatabaseError), transaction.atomic():
        type(transfer.quote).objects.filter(pk=transfer.quote_id).update(fee_minor=0)
