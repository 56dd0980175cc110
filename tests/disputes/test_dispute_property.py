"""Property: whatever operators, customers, retries and the partner do, in any order, a hold
never moves money and a dispute's refund is posted at most once (and only when lost)."""

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fintech.core.errors import DomainError
from fintech.disputes.models import Dispute
from fintech.disputes.services import (
    dispute_decide,
    dispute_open,
    dispute_request_evidence,
    dispute_review,
)
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_refund
from fintech.wallets.services import DEFAULT_FUNDING_PARTNER
from ledger import chart
from ledger.models import Posting
from ledger.selectors import account_summary, ledger_verify_report
from tests.disputes.conftest import ALICE, OPS, refund_entries

pytestmark = pytest.mark.django_db

ACTIONS = st.sampled_from(
    ["open", "evidence", "review", "won", "lost", "withdrawn", "partner_refund"]
)


def _posted(transfer: Transfer) -> int:
    """Everything posted for this transfer's refund (the only money a dispute may move)."""
    return int(
        Posting.objects.filter(entry__idempotency_key__startswith=f"transfer:{transfer.reference}:refund")
        .aggregate(n=Sum("debit_minor"))["n"] or 0
    )  # fmt: skip


def _all_posted() -> int:
    return int(Posting.objects.aggregate(n=Sum("debit_minor"))["n"] or 0)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(ACTIONS, min_size=1, max_size=10))
def test_holds_never_move_money_and_refunds_post_once(alice, make_transfer, actions):
    transfer = make_transfer("completed")
    funding = chart.funding_partner_account(partner=DEFAULT_FUNDING_PARTNER, currency="GBP")
    held_before = account_summary(account_id=funding.pk).held_minor
    dispute: Dispute | None = None
    for action in actions:
        posted_before, refunds_before = _all_posted(), refund_entries(transfer)
        try:
            if action == "open":
                dispute = dispute_open(
                    actor=ALICE, profile=alice, transfer_id=transfer.pk, reason="duplicate"
                )
            elif action == "partner_refund":
                transfer_refund(actor=OPS, transfer_id=transfer.pk, reason="payout returned")
            elif dispute is None:
                continue
            elif action == "evidence":
                dispute_request_evidence(actor=OPS, dispute_id=dispute.pk, reason="receipt?")
            elif action == "review":
                dispute_review(actor=OPS, dispute_id=dispute.pk, reason="evidence in")
            else:
                dispute_decide(actor=OPS, dispute_id=dispute.pk, outcome=action, reason="decided")
        except DomainError:
            pass  # refused with nothing changed: checked below like any other step
        if dispute is not None:
            dispute.refresh_from_db()
        refunded_now = refund_entries(transfer) - refunds_before
        if refunded_now == 0:
            # No refund this step: opening, reviewing, holding and releasing moved nothing.
            assert _all_posted() == posted_before, action
        else:
            assert action in ("lost", "partner_refund"), action
        assert refund_entries(transfer) <= 1
        open_hold = dispute is not None and dispute.is_open
        expected_held = held_before + (dispute.amount_minor if open_hold and dispute else 0)
        assert account_summary(account_id=funding.pk).held_minor == expected_held, action
    transfer.refresh_from_db()
    if dispute is not None and dispute.state == Dispute.State.LOST:
        assert transfer.state == Transfer.State.REFUNDED
        assert _posted(transfer) > 0
    assert ledger_verify_report().ok
