"""dispute_open and the decisions: the hold, its release, the refund posted once."""

import datetime as dt

import pytest
import time_machine
from django.db.models import Sum

from fintech.core.errors import Conflict, NotFound, TransitionNotAllowed, ValidationFailed
from fintech.core.models import AuditEvent
from fintech.disputes.models import Dispute
from fintech.disputes.services import (
    DisputeRefused,
    dispute_decide,
    dispute_open,
    dispute_request_evidence,
    dispute_review,
    disputes_expire,
)
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_refund
from fintech.wallets.services import DEFAULT_FUNDING_PARTNER
from ledger import chart
from ledger.selectors import account_balance, account_summary, ledger_verify_report
from ledger.services import hold_place  # noqa: F401  (the hold the dispute uses)
from tests.disputes.conftest import ALICE, OPS, event_types, refund_entries

pytestmark = pytest.mark.django_db


def funding_account(currency: str = "GBP"):
    return chart.funding_partner_account(partner=DEFAULT_FUNDING_PARTNER, currency=currency)


def posted_total() -> int:
    from ledger.models import Posting  # tests may read ledger tables

    return int(Posting.objects.aggregate(n=Sum("debit_minor"))["n"] or 0)


def to_review(dispute: Dispute) -> Dispute:
    return dispute_review(actor=OPS, dispute_id=dispute.pk, reason="partner answered")


def test_open_holds_the_amount_and_moves_no_money(completed, open_dispute):
    before_posted, before_balance = posted_total(), account_balance(account_id=funding_account().pk)
    dispute = open_dispute()
    assert dispute.state == Dispute.State.OPENED
    assert dispute.amount_minor == completed.source_amount_minor
    summary = account_summary(account_id=funding_account().pk)
    assert summary.held_minor == completed.source_amount_minor
    assert posted_total() == before_posted
    assert account_balance(account_id=funding_account().pk) == before_balance
    assert event_types("dispute.") == ["dispute.opened"]
    assert AuditEvent.objects.filter(action="dispute.open", target_id=str(dispute.pk)).exists()
    assert ledger_verify_report().ok


def test_won_releases_the_hold_and_refunds_nothing(completed, open_dispute):
    dispute = to_review(open_dispute())
    before = posted_total()
    dispute = dispute_decide(
        actor=OPS, dispute_id=dispute.pk, outcome="won", reason="delivery confirmed by bank"
    )
    assert dispute.state == Dispute.State.WON
    assert dispute.decision_reason == "delivery confirmed by bank"
    assert account_summary(account_id=funding_account().pk).held_minor == 0
    assert posted_total() == before
    completed.refresh_from_db()
    assert completed.state == Transfer.State.COMPLETED
    assert event_types("dispute.") == ["dispute.opened", "dispute.under_review", "dispute.won"]
    assert ledger_verify_report().ok


def test_lost_refunds_once_even_when_the_decision_is_retried(completed, open_dispute):
    dispute = to_review(open_dispute())
    for _retry in range(3):
        dispute = dispute_decide(
            actor=OPS, dispute_id=dispute.pk, outcome="lost", reason="recall succeeded"
        )
    completed.refresh_from_db()
    assert dispute.state == Dispute.State.LOST
    assert completed.state == Transfer.State.REFUNDED
    assert refund_entries(completed) == 1
    assert event_types("dispute.lost") == ["dispute.lost"]
    assert event_types("payment.refunded") == ["payment.refunded"]
    assert account_summary(account_id=funding_account().pk).held_minor == 0
    with pytest.raises(TransitionNotAllowed):
        dispute_decide(actor=OPS, dispute_id=dispute.pk, outcome="won", reason="changed my mind")
    assert ledger_verify_report().ok


def test_lost_after_the_partner_already_refunded_posts_no_second_refund(completed, open_dispute):
    dispute = to_review(open_dispute())
    transfer_refund(actor=OPS, transfer_id=completed.pk, reason="payout returned")
    dispute_decide(actor=OPS, dispute_id=dispute.pk, outcome="lost", reason="returned anyway")
    assert refund_entries(completed) == 1
    assert event_types("payment.refunded") == ["payment.refunded"]
    assert ledger_verify_report().ok


def test_decisions_need_a_reason(open_dispute):
    dispute = to_review(open_dispute())
    with pytest.raises(ValidationFailed) as exc:
        dispute_decide(actor=OPS, dispute_id=dispute.pk, outcome="lost", reason="  ")
    assert exc.value.fields[0].field == "reason"
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.UNDER_REVIEW


def test_it_refuses_a_refunded_transfer_and_holds_nothing(alice, completed):
    transfer_refund(actor=OPS, transfer_id=completed.pk, reason="refunded already")
    with pytest.raises(DisputeRefused) as exc:
        dispute_open(actor=ALICE, profile=alice, transfer_id=completed.pk, reason="duplicate")
    assert exc.value.status == 422
    assert exc.value.fields[0].as_dict()["field"] == "transfer_id"
    assert exc.value.fields[0].code == "already_refunded"
    assert not Dispute.objects.exists()
    assert account_summary(account_id=funding_account().pk).held_minor == 0


def test_it_refuses_a_transfer_past_the_dispute_window(alice, completed, settings):
    settings.DISPUTE_OPEN_MAX_DAYS = 30
    with (
        time_machine.travel(completed.completed_at + dt.timedelta(days=31)),
        pytest.raises(DisputeRefused) as exc,
    ):
        dispute_open(actor=ALICE, profile=alice, transfer_id=completed.pk, reason="duplicate")
    assert exc.value.fields[0].code == "dispute_window_closed"
    assert not Dispute.objects.exists()
    assert account_summary(account_id=funding_account().pk).held_minor == 0


def test_it_refuses_a_transfer_not_paid_out(alice, make_transfer):
    processing = make_transfer("processing")
    with pytest.raises(DisputeRefused) as exc:
        dispute_open(actor=ALICE, profile=alice, transfer_id=processing.pk, reason="duplicate")
    assert exc.value.fields[0].code == "not_paid_out"


def test_another_customers_transfer_is_not_found(bob, completed):
    with pytest.raises(NotFound):
        dispute_open(actor=ALICE, profile=bob, transfer_id=completed.pk, reason="duplicate")
    assert not Dispute.objects.exists()


def test_one_open_dispute_per_transfer(open_dispute):
    open_dispute()
    with pytest.raises(Conflict):
        open_dispute()
    assert Dispute.objects.count() == 1
    assert account_summary(account_id=funding_account().pk).held_minor > 0
    assert ledger_verify_report().ok


def test_missing_evidence_past_the_deadline_withdraws_the_dispute(open_dispute, settings):
    dispute = open_dispute()
    dispute = dispute_request_evidence(actor=OPS, dispute_id=dispute.pk, reason="send a receipt")
    assert disputes_expire() == 0
    with time_machine.travel(dispute.respond_by + dt.timedelta(seconds=1)):
        assert disputes_expire() == 1
        assert disputes_expire() == 0
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.WITHDRAWN
    assert dispute.decision_reason == "no evidence by the deadline"
    assert account_summary(account_id=funding_account().pk).held_minor == 0


def test_the_partner_answer_is_recorded_under_review(open_dispute):
    dispute = open_dispute()
    dispute = dispute_review(
        actor=OPS, dispute_id=dispute.pk, reason="partner answered",
        partner_answer={"outcome": "recovered"},
    )  # fmt: skip
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.UNDER_REVIEW
    assert dispute.partner_answer == {"outcome": "recovered"}
