"""Compliance cases: opened by screening hits, worked through their lifecycle, closed by a
decision that releases or keeps the holds (four eyes at or above CASE_FOUR_EYES_RISK)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from fintech.compliance.cases import services as cases
from fintech.compliance.cases.registry import case_source_kinds
from fintech.compliance.models import Case, CaseItem, CaseNote, ScreeningHit
from fintech.core.errors import (
    Conflict,
    ScreeningHold,
    TransitionNotAllowed,
    ValidationFailed,
)
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_create, transfer_fund, transfer_submit
from ledger.selectors import entry_by_idempotency_key, ledger_verify_report
from tests.compliance.cases import (
    actor_of,
    case_of,
    funded_then_held,
    held_beneficiary,
    officer,
)
from tests.compliance.sanctions import OFAC_V1, OFAC_V2, load
from tests.transfers.conftest import ALICE, OPS, quote_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def carla(db):
    return officer("carla")


@pytest.fixture
def dan(db):
    return officer("dan")


@pytest.fixture
def listed(db) -> None:
    load("ofac", OFAC_V1)


@pytest.fixture
def no_four_eyes(settings):
    settings.CASE_FOUR_EYES_RISK = 101


def investigating(case: Case, by) -> Case:
    return cases.case_start_investigation(actor=actor_of(by), case_id=case.pk, note="looking")


def test_a_hit_opens_a_case_and_a_second_hit_on_the_profile_joins_it(listed, alice) -> None:
    _, first = held_beneficiary(alice)
    case = case_of(alice)
    assert (case.state, case.risk_score, case.risk_level) == ("open", first.score, "high")
    assert case.due_at > case.opened_at
    [item] = case.items.all()
    assert (item.source, item.source_id, item.score) == ("screening_hit", first.pk, first.score)
    assert "Blue Horizon" in item.summary

    _, second = held_beneficiary(alice, "Ivan Petrov")
    assert Case.objects.filter(profile=alice).count() == 1
    assert sorted(case.items.values_list("source_id", flat=True)) == sorted([first.pk, second.pk])

    # Attaching the same alert again changes nothing (idempotent).
    again = cases.case_attach(
        actor=OPS, profile=alice, source="screening_hit", source_id=first.pk, summary="x", score=1
    )
    assert again.pk == case.pk
    assert CaseItem.objects.count() == 2
    assert "screening_hit" in case_source_kinds()
    assert list(
        OutboxEvent.objects.filter(type__startswith="case.")
        .order_by("occurred_at")
        .values_list("type", "profile_id")
    ) == [("case.opened", None), ("case.item_added", None), ("case.item_added", None)]


def test_the_lifecycle_and_the_transitions_it_refuses(listed, alice, carla, no_four_eyes) -> None:
    held_beneficiary(alice)
    case = case_of(alice)
    by = actor_of(carla)

    with pytest.raises(TransitionNotAllowed):
        cases.case_escalate(actor=by, case_id=case.pk, note="too early")
    with pytest.raises(TransitionNotAllowed):
        cases.case_close_cleared(actor=by, case_id=case.pk, note="not investigated yet")
    with pytest.raises(ValidationFailed, match="note"):
        cases.case_start_investigation(actor=by, case_id=case.pk, note="  ")

    case = investigating(case, carla)
    case = cases.case_escalate(actor=by, case_id=case.pk, note="to the MLRO")
    assert case.state == "escalated"
    case = cases.case_return_to_investigation(actor=by, case_id=case.pk, note="more documents")
    assert case.state == "investigating"
    case = cases.case_assign(actor=by, case_id=case.pk, assignee=carla)
    assert case.assignee_id == carla.pk
    case = cases.case_close_cleared(actor=by, case_id=case.pk, note="a different company")
    assert (case.state, case.decision, case.decided_by) == (
        "closed_cleared",
        "cleared",
        "user:carla",
    )

    for step in (cases.case_start_investigation, cases.case_escalate):
        with pytest.raises(TransitionNotAllowed):
            step(actor=by, case_id=case.pk, note="closed is final")
    with pytest.raises(TransitionNotAllowed):
        cases.case_close_reported(actor=by, case_id=case.pk, note="changed my mind")
    actions = list(
        AuditEvent.objects.filter(target_type="compliance.case", target_id=str(case.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "case.opened",
        "case.item_added",
        "case.investigation_started",
        "case.escalated",
        "case.returned_to_investigation",
        "case.assigned",
        "case.closed",
    ]


def test_only_compliance_officers_can_be_assigned(listed, alice, carla) -> None:
    held_beneficiary(alice)
    sam = officer("sam", "support")
    with pytest.raises(ValidationFailed, match="not a compliance officer"):
        cases.case_assign(actor=actor_of(carla), case_id=case_of(alice).pk, assignee=sam)


def test_four_eyes_the_maker_cannot_approve_another_officer_can(
    listed, alice, carla, dan, settings
) -> None:
    settings.CASE_FOUR_EYES_RISK = 80
    _, hit = held_beneficiary(alice)
    case = investigating(case_of(alice), carla)
    assert case.risk_score >= 80

    case = cases.case_close_cleared(actor=actor_of(carla), case_id=case.pk, note="UK company")
    assert (case.state, case.proposed_decision, case.proposed_by) == (
        "investigating",
        "cleared",
        "user:carla",
    )
    hit.refresh_from_db()
    assert hit.status == "open"  # nothing released by a proposal
    with pytest.raises(cases.MakerCannotApprove):
        cases.case_decision_approve(actor=actor_of(carla), case_id=case.pk)
    with pytest.raises(Conflict, match="proposed decision"):
        cases.case_close_reported(actor=actor_of(dan), case_id=case.pk, note="other decision")
    with pytest.raises(Conflict, match="awaiting approval"):
        cases.case_escalate(actor=actor_of(dan), case_id=case.pk, note="while proposed")

    case = cases.case_decision_approve(actor=actor_of(dan), case_id=case.pk, note="agreed")
    assert (case.state, case.decided_by, case.approved_by) == (
        "closed_cleared",
        "user:carla",
        "user:dan",
    )
    assert case.proposed_decision == ""
    hit.refresh_from_db()
    assert (hit.status, hit.decided_by) == ("cleared", "user:dan")
    assert list(
        OutboxEvent.objects.filter(type__in=["case.close_proposed", "case.closed"])
        .order_by("occurred_at")
        .values_list("type", flat=True)
    ) == ["case.close_proposed", "case.closed"]


def test_a_rejected_proposal_leaves_the_case_open_and_a_new_alert_drops_a_proposal(
    listed, alice, carla, dan
) -> None:
    held_beneficiary(alice)
    case = investigating(case_of(alice), carla)
    cases.case_close_cleared(actor=actor_of(carla), case_id=case.pk, note="UK company")
    case = cases.case_decision_reject(actor=actor_of(dan), case_id=case.pk, note="check the UBO")
    assert (case.state, case.proposed_decision) == ("investigating", "")

    cases.case_close_cleared(actor=actor_of(carla), case_id=case.pk, note="UBO checked")
    held_beneficiary(alice, "Ivan Petrov")  # new facts arrive
    case.refresh_from_db()
    assert case.proposed_decision == ""
    with pytest.raises(Conflict, match="no proposed decision"):
        cases.case_decision_approve(actor=actor_of(dan), case_id=case.pk)


def test_closing_cleared_releases_the_hold_and_the_transfer_can_go(
    alice, carla, no_four_eyes
) -> None:
    load("ofac", OFAC_V1)
    from tests.builders import build_beneficiary

    northwind = build_beneficiary(
        profile=alice, currency="EUR", holder_name="Northwind Logistics Ltd"
    )
    transfer = transfer_create(
        actor=ALICE,
        profile=alice,
        quote_id=quote_for(alice).pk,
        beneficiary_id=northwind.pk,
        customer_transaction_id="INV-CASE-1",
    )
    transfer_fund(actor=OPS, transfer_id=transfer.pk)
    from fintech.compliance.screening.services import sanctions_rescreen_due

    sanctions_rescreen_due()
    load("ofac", OFAC_V2)  # lists NORTHWIND LOGISTICS LIMITED: a hit, a case
    assert sanctions_rescreen_due() == 1
    with pytest.raises(ScreeningHold):
        transfer_submit(actor=OPS, transfer_id=transfer.pk)

    case = investigating(case_of(alice), carla)
    cases.case_close_cleared(actor=actor_of(carla), case_id=case.pk, note="UK haulier, no link")
    assert case.items.get().outcome == "released"
    transfer_submit(actor=OPS, transfer_id=transfer.pk)
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.PROCESSING
    # And a new transfer to the beneficiary can be created.
    transfer_create(
        actor=ALICE,
        profile=alice,
        quote_id=quote_for(alice).pk,
        beneficiary_id=northwind.pk,
        customer_transaction_id="INV-CASE-2",
    )


def test_closing_reported_keeps_the_hold_and_cancels_the_held_transfers_once(
    alice, carla, dan, settings
) -> None:
    settings.CASE_FOUR_EYES_RISK = 0  # every close takes two officers
    funded, created = funded_then_held(alice)
    case = investigating(case_of(alice), carla)
    case = cases.case_escalate(actor=actor_of(carla), case_id=case.pk, note="true match")
    cases.case_close_reported(
        actor=actor_of(carla), case_id=case.pk, note="SAR filed", cancel_transfers=True
    )
    funded.refresh_from_db()
    assert funded.state == Transfer.State.FUNDED  # nothing moves before the approval

    case = cases.case_decision_approve(actor=actor_of(dan), case_id=case.pk)
    assert case.state == "closed_reported"
    assert sorted(case.transfers_cancelled) == sorted([funded.pk, created.pk])
    for transfer in (funded, created):
        transfer.refresh_from_db()
        assert transfer.state == Transfer.State.CANCELLED
    # The funded one's money went back to the wallet by one cancel entry; the created one
    # had nothing posted.
    assert entry_by_idempotency_key(idempotency_key=f"transfer:{funded.reference}:cancel")
    assert not entry_by_idempotency_key(idempotency_key=f"transfer:{created.reference}:cancel")
    hit = ScreeningHit.objects.get(subject_type="beneficiary")
    assert hit.status == "confirmed"  # the hold stays
    assert case.items.get().outcome == "confirmed"

    # Deciding again is refused: nothing posted twice.
    with pytest.raises((Conflict, TransitionNotAllowed)):
        cases.case_decision_approve(actor=actor_of(dan), case_id=case.pk)
    with pytest.raises(TransitionNotAllowed):
        cases.case_close_reported(
            actor=actor_of(dan), case_id=case.pk, note="again", cancel_transfers=True
        )
    assert OutboxEvent.objects.filter(type="transfer.cancelled").count() == 2
    assert ledger_verify_report().ok
    with pytest.raises(ScreeningHold):
        transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=quote_for(alice).pk,
            beneficiary_id=funded.beneficiary_id,
            customer_transaction_id="INV-AFTER",
        )


def test_a_new_hit_after_a_close_opens_a_new_case(listed, alice, carla, no_four_eyes) -> None:
    held_beneficiary(alice)
    case = investigating(case_of(alice), carla)
    cases.case_close_reported(actor=actor_of(carla), case_id=case.pk, note="reported")
    held_beneficiary(alice, "Ivan Petrov")
    assert Case.objects.filter(profile=alice).count() == 2
    assert Case.objects.filter(profile=alice, state="open").count() == 1


def test_notes_are_append_only(listed, alice, carla) -> None:
    held_beneficiary(alice)
    note = cases.case_note_add(actor=actor_of(carla), case_id=case_of(alice).pk, text="called")
    assert (note.author_id, note.author_label) == (carla.pk, "user:carla")
    with (
        pytest.raises(ProgrammingError, match="Cannot update or delete"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE compliance_casenote SET text = 'rewritten'")
    assert CaseNote.objects.get().text == "called"


def test_case_events_never_reach_the_customers_webhooks(alice, carla, no_four_eyes) -> None:
    from integrations.models import WebhookDelivery
    from integrations.webhooks.services import deliveries_create_for_event, endpoint_create

    endpoint_create(actor=OPS, profile=alice, url="http://127.0.0.1:9/hook")  # every type
    funded_then_held(alice)
    case = investigating(case_of(alice), carla)
    cases.case_note_add(actor=actor_of(carla), case_id=case.pk, text="a note")
    cases.case_close_reported(
        actor=actor_of(carla), case_id=case.pk, note="SAR filed", cancel_transfers=True
    )
    for event in OutboxEvent.objects.all():
        deliveries_create_for_event(event=event)
    delivered = set(WebhookDelivery.objects.values_list("event_type", flat=True))
    assert "transfer.cancelled" in delivered  # the customer sees their transfer cancelled
    assert not [t for t in delivered if t.startswith(("case.", "screening."))]
    assert set(
        OutboxEvent.objects.filter(type__startswith="case.").values_list("profile_id", flat=True)
    ) == {None}


def test_another_alert_kind_plugs_in_through_the_registry(alice, carla, no_four_eyes) -> None:
    """What the monitoring app does for its alerts: register, attach, be decided by the case."""
    from fintech.compliance.cases.registry import _SOURCES, case_source_register

    calls: list[tuple[str, int, str]] = []
    case_source_register(
        "test_alert",
        release=lambda actor, source_id, note: calls.append(("release", source_id, actor.label)),
        confirm=lambda actor, source_id, note: calls.append(("confirm", source_id, actor.label)),
        describe=lambda source_id: {"rule": "large_amount", "id": source_id},
    )
    try:
        case = cases.case_attach(
            actor=OPS, profile=alice, source="test_alert", source_id=7, summary="big", score=60
        )
        assert (case.risk_score, case.risk_level) == (60, "medium")
        investigating(case, carla)
        cases.case_close_cleared(actor=actor_of(carla), case_id=case.pk, note="explained")
        assert calls == [("release", 7, "user:carla")]
        with pytest.raises(LookupError):
            cases.case_attach(
                actor=OPS, profile=alice, source="unknown", source_id=1, summary="x", score=1
            )
    finally:
        _SOURCES.pop("test_alert", None)
