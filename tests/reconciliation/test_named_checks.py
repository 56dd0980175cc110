"""The named checks, each on real PostgreSQL with data built through the services: a
transfer stuck beyond its SLA, a completed transfer its partner never paid, an old hold, a
suspense account not at zero, a ledger balance that differs from the bank's closing balance
(explained line by line). Each read as of a time, so a replay lists the same."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from integrations.models import PayoutInstruction
from integrations.reconciliation import checks
from integrations.reconciliation.checks import CheckContext
from integrations.reconciliation.models import BankStatement
from ledger import chart
from ledger.services import PostingSpec, account_get_or_open, entry_post, hold_place
from tests.reconciliation.recon_builders import bank_account, ledger_record, statement

pytestmark = pytest.mark.django_db


def ctx(*, hours_later: float = 0, as_of: date | None = None) -> CheckContext:
    known = timezone.now() + timedelta(hours=hours_later)
    return CheckContext(as_of=as_of or known.date(), known_at=known)


def test_a_transfer_in_processing_beyond_its_sla_is_listed(make_transfer, settings):
    settings.RECONCILIATION_TRANSFER_SLA_HOURS = {"processing": 48}
    transfer = make_transfer("processing")

    assert checks.transfer_stuck(ctx(hours_later=47)) == []
    (found,) = checks.transfer_stuck(ctx(hours_later=49))
    assert found.key == f"transfer:{transfer.reference}:processing"
    # before it was even submitted, it was not in processing: a replay of then lists nothing
    assert checks.transfer_stuck(ctx(hours_later=-1)) == []


def test_a_completed_transfer_needs_the_partner_to_have_paid_it(make_transfer):
    transfer = make_transfer("completed")

    (found,) = checks.transfer_payout_confirmed(ctx())
    assert found.key == f"payout:{transfer.reference}"
    instruction = PayoutInstruction.objects.create(
        partner="payout-sandbox", transfer_id=transfer.pk,
        transfer_reference=transfer.reference, status="returned",
    )  # fmt: skip
    (found,) = checks.transfer_payout_confirmed(ctx())
    assert "payout-sandbox:returned" in found.detail
    PayoutInstruction.objects.filter(pk=instruction.pk).update(status="sent")
    assert checks.transfer_payout_confirmed(ctx()) == []


def test_an_old_hold_is_listed(alice, settings):
    settings.RECONCILIATION_HOLD_MAX_AGE_DAYS = 7
    wallet = chart.wallet_account(owner=f"profile:{alice.pk}", currency="GBP")
    hold = hold_place(account_id=wallet.pk, amount_minor=500, idempotency_key="hold-old-1")

    assert checks.hold_old(ctx(hours_later=6 * 24)) == []
    (found,) = checks.hold_old(ctx(hours_later=8 * 24))
    assert found.key == f"hold:{hold.pk}"


def test_a_suspense_account_not_at_zero_is_listed():
    suspense = account_get_or_open(
        code="suspense:unidentified:GBP", name="Unidentified GBP", type="liability",
        currency="GBP", allow_negative=True,
    )  # fmt: skip
    bank = chart.funding_partner_account(partner="sandbox-bank", currency="GBP")
    entry_post(idempotency_key="suspense-1", memo="parked",
               postings=[PostingSpec.debit(bank.pk, 300, "GBP"),
                         PostingSpec.credit(suspense.pk, 300, "GBP")])  # fmt: skip

    (found,) = checks.suspense_not_zero(ctx())
    assert (found.key, found.difference_minor) == ("suspense:suspense:unidentified:GBP", 300)


def test_the_balance_difference_is_explained_line_by_line():
    account = bank_account()
    day = date(2026, 11, 2)
    ledger_record(account, 1000, day=day, key="wallet-funding:sandbox-bank:B-1")
    ledger_record(account, 400, day=day, key="wallet-funding:sandbox-bank:B-2")  # not at bank
    st = statement(account, [
        {"amount_minor": 1000, "day": day, "end_to_end_id": "B-1"},
        {"amount_minor": -25, "day": day, "remittance_info": "bank fee"},  # not in ledger
    ])  # fmt: skip
    BankStatement.objects.filter(pk=st.pk).update(
        format="camt053", opening_balance_minor=0, closing_balance_minor=975, closing_date=day
    )
    from integrations.reconciliation.matching import statement_lines_match

    statement_lines_match(bank_account_id=account.pk, actor_label="system:test")
    known = datetime.now(tz=UTC)

    (found,) = checks.balance_vs_statement(CheckContext(as_of=date(2026, 11, 10), known_at=known))

    assert found.difference_minor == 975 - 1400
    assert [x["amount_minor"] for x in found.theirs["unmatched_lines"]] == [-25]
    assert [x["amount_minor"] for x in found.ours["unmatched_records"]] == [400]
    assert "explain -425, 0 unexplained" in found.detail


def test_a_returned_payout_is_one_exception_not_two(make_transfer):
    """The partner returns a payout: its report carries the money back (RETURN-<reference>),
    the payout check lists the transfer; the line is the same fault, listed once. When the
    payout is confirmed after all, the money back is an unmatched line again."""
    transfer = make_transfer("completed")
    instruction = PayoutInstruction.objects.create(
        partner="payout-sandbox", transfer_id=transfer.pk,
        transfer_reference=transfer.reference, status="returned",
    )  # fmt: skip
    account = bank_account(currency="EUR", code="payout:sandbox-payout:EUR")
    st = statement(account, [{"amount_minor": transfer.target_amount_minor,
                              "day": timezone.localdate(),
                              "end_to_end_id": f"RETURN-{transfer.reference}"}])  # fmt: skip
    BankStatement.objects.filter(pk=st.pk).update(format="partner")

    assert [e.key for e in checks.transfer_payout_confirmed(ctx())] == [
        f"payout:{transfer.reference}"
    ]
    assert checks.statement_line_unmatched(ctx()) == []

    PayoutInstruction.objects.filter(pk=instruction.pk).update(status="sent")
    assert checks.transfer_payout_confirmed(ctx()) == []
    assert [e.key for e in checks.statement_line_unmatched(ctx())] == [f"line:{st.lines.get().pk}"]


def test_an_undone_one_to_one_match_counts_until_it_was_undone():
    """A replay as of a time before the undo sees the line and posting matched (the undone
    row's partial index); after it, both are unmatched again, and the amount difference of
    the one-to-one row (`item:<id>`) is listed only while the match was live."""
    from integrations.reconciliation.matching import statement_lines_match
    from integrations.reconciliation.models import ReconMatchItem

    account = bank_account()
    day = date(2026, 11, 2)
    posting = ledger_record(account, 1000, day=day, key="wallet-funding:sandbox-bank:U-1")
    line = statement(account, [{"amount_minor": 1001, "day": day, "end_to_end_id": "U-1"}])
    statement_lines_match(bank_account_id=account.pk, actor_label="system:test")
    item = ReconMatchItem.objects.get(statement_line=line.lines.get(), match=None)
    assert (item.rule, item.confidence, item.posting_id) == ("exact_id", 60, posting)
    while_live = CheckContext(as_of=date(2026, 11, 10), known_at=timezone.now())
    undone_at = timezone.now() + timedelta(seconds=1)
    ReconMatchItem.objects.filter(pk=item.pk).update(
        active=False, undone_at=undone_at, undone_by="ops"
    )
    after = CheckContext(as_of=date(2026, 11, 10), known_at=undone_at + timedelta(seconds=1))

    assert checks.statement_line_unmatched(while_live) == []
    assert checks.ledger_record_unmatched(while_live) == []
    assert [x.key for x in checks.match_amount_difference(while_live)] == [f"item:{item.pk}"]
    assert [x.key for x in checks.statement_line_unmatched(after)] == [
        f"line:{line.lines.get().pk}"
    ]
    assert [x.key for x in checks.ledger_record_unmatched(after)] == [f"posting:{posting}"]
    assert checks.match_amount_difference(after) == []
