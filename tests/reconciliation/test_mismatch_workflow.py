"""Working mismatches and suggested fundings on real PostgreSQL: investigate, resolve by a
manual match, by a correcting ledger entry, write off (maker-checker above the threshold),
reopen on new facts; nothing deletable; every step audited.

People: ops (operator), fiona (a second finance operator)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction

from fintech.core.errors import Conflict, ValidationFailed
from fintech.core.models import AuditEvent
from fintech.core.services import Actor
from fintech.wallets.selectors import profile_wallet_balances
from integrations.reconciliation.fundings import funding_confirm, funding_reject
from integrations.reconciliation.matching import statement_lines_match
from integrations.reconciliation.mismatches import (
    mismatch_investigate,
    mismatch_resolve_by_entry,
    mismatch_resolve_by_match,
    mismatch_write_off,
    mismatch_write_off_approve,
)
from integrations.reconciliation.models import Mismatch, ReconMatch, SuggestedFunding
from integrations.reconciliation.runs import reconciliation_run
from ledger import chart
from ledger.services import PostingSpec
from tests.builders import build_user
from tests.reconciliation.recon_builders import bank_account, ledger_record, statement

pytestmark = pytest.mark.django_db
D = date(2026, 11, 2)
AS_OF = date(2026, 11, 10)


@pytest.fixture
def fiona_actor(db) -> Actor:
    return Actor.for_user(build_user("fiona", is_staff=True), request_id="req-fiona")


def audited(m: Mismatch) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_id=str(m.pk), target_type="integrations.mismatch")
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_a_line_and_a_record_with_no_common_reference_are_matched_by_hand(ops_actor):
    account = bank_account()
    posting = ledger_record(account, 4200, day=D, key="wallet-funding:sandbox-bank:X-1")
    line = statement(account, [{"amount_minor": 4200, "day": D, "remittance_info": "?"}])
    reconciliation_run(as_of=AS_OF)
    m = Mismatch.objects.get(check_name="statement_line_unmatched")

    mismatch_investigate(actor=ops_actor, mismatch_id=m.pk)
    match = mismatch_resolve_by_match(
        actor=ops_actor, mismatch_id=m.pk, line_ids=[line.lines.get().pk],
        posting_ids=[posting], note="same customer, reference mistyped",
    )  # fmt: skip

    m = Mismatch.objects.get(pk=m.pk)  # protected FSM field: re-read
    assert (m.state, m.resolution, m.match_id) == ("resolved", "manual_match", match.pk)
    assert m.owner.username == "ops"
    assert match.rule == ReconMatch.Rule.MANUAL
    run = reconciliation_run(as_of=AS_OF)
    assert run.counts["checks"]["statement_line_unmatched"] == 0
    # the posting's own mismatch, raised the same night, was cleared by the match
    assert Mismatch.objects.get(check_name="ledger_record_unmatched").resolution == "cleared"
    assert audited(m) == ["mismatch.opened", "mismatch.investigating", "mismatch.resolved"]


def test_a_manual_match_must_add_up(ops_actor):
    account = bank_account()
    posting = ledger_record(account, 4200, day=D, key="wallet-funding:sandbox-bank:X-2")
    line = statement(account, [{"amount_minor": 4100, "day": D}]).lines.get()
    reconciliation_run(as_of=AS_OF)
    m = Mismatch.objects.get(check_name="statement_line_unmatched")
    with pytest.raises(ValidationFailed) as refused:
        mismatch_resolve_by_match(
            actor=ops_actor, mismatch_id=m.pk, line_ids=[line.pk], posting_ids=[posting], note="x"
        )
    assert refused.value.fields[0].field == "posting_ids"


def test_a_correcting_entry_goes_through_the_ledger_with_its_reason(ops_actor):
    account = bank_account()
    statement(account, [{"amount_minor": -250, "day": D, "remittance_info": "bank charges"}])
    reconciliation_run(as_of=AS_OF)
    m = Mismatch.objects.get(check_name="statement_line_unmatched")
    funding = chart.funding_partner_account(partner="sandbox-bank", currency="GBP")
    expense = chart.fx_position_account(currency="GBP")

    with pytest.raises(ValidationFailed) as refused:
        mismatch_resolve_by_entry(actor=ops_actor, mismatch_id=m.pk, postings=[], reason=" ")
    assert refused.value.fields[0].field == "reason"
    entry_id = mismatch_resolve_by_entry(
        actor=ops_actor, mismatch_id=m.pk,
        postings=[PostingSpec.credit(funding.pk, 250, "GBP"),
                  PostingSpec.debit(expense.pk, 250, "GBP")],
        reason="bank charges for November",
    )  # fmt: skip

    m = Mismatch.objects.get(pk=m.pk)  # protected FSM field: re-read
    assert (m.state, m.correcting_entry_id) == ("resolved", entry_id)
    with pytest.raises(Conflict):
        mismatch_resolve_by_entry(actor=ops_actor, mismatch_id=m.pk, postings=[], reason="again")


def test_a_write_off_above_the_threshold_needs_a_second_operator(ops_actor, fiona_actor, settings):
    settings.RECONCILIATION_WRITE_OFF_THRESHOLD_MINOR = 100
    account = bank_account()
    statement(account, [
        {"amount_minor": 99, "day": D, "remittance_info": "small"},
        {"amount_minor": 5000, "day": D, "remittance_info": "large"},
    ])  # fmt: skip
    reconciliation_run(as_of=AS_OF)
    small, large = Mismatch.objects.filter(check_name="statement_line_unmatched").order_by(
        "difference_minor"
    )

    assert mismatch_write_off(actor=ops_actor, mismatch_id=small.pk, reason="rounding")
    assert not mismatch_write_off(actor=ops_actor, mismatch_id=large.pk, reason="unknown sender")
    large = Mismatch.objects.get(pk=large.pk)  # protected FSM field: re-read
    assert large.state == "open"
    with pytest.raises(Conflict, match="cannot approve"):
        mismatch_write_off_approve(actor=ops_actor, mismatch_id=large.pk)
    mismatch_write_off_approve(actor=fiona_actor, mismatch_id=large.pk)

    large = Mismatch.objects.get(pk=large.pk)  # protected FSM field: re-read
    assert (large.state, large.write_off_approved_by) == ("written_off", "user:fiona")
    assert "mismatch.write_off_requested" in audited(large)
    # The same facts next night: the write-off stands.
    reconciliation_run(as_of=AS_OF)
    large = Mismatch.objects.get(pk=large.pk)  # protected FSM field: re-read
    assert large.state == "written_off"


def test_a_resolution_contradicted_by_new_data_reopens(ops_actor):
    account = bank_account()
    ledger_record(account, 3000, day=D, key="wallet-funding:sandbox-bank:OFF-2")
    line = statement(account, [{"amount_minor": 3001, "day": D, "end_to_end_id": "OFF-2"}])
    reconciliation_run(as_of=AS_OF)
    m = Mismatch.objects.get(check_name="match_amount_difference")
    mismatch_write_off(actor=ops_actor, mismatch_id=m.pk, reason="one penny")
    # the bank adds another line to the same reference: the match is now off differently
    ledger_record(account, 10, day=D, key="wallet-funding:sandbox-bank:OFF-2b")
    from integrations.reconciliation.models import ReconMatchItem

    # (a one-to-one match is one item row: the posting's side is `posting_amount_minor`)
    ReconMatchItem.objects.filter(statement_line=line.lines.get(), match=None).update(
        posting_amount_minor=2990
    )

    reconciliation_run(as_of=AS_OF)

    m = Mismatch.objects.get(pk=m.pk)  # protected FSM field: re-read
    assert (m.state, m.times_reopened, m.difference_minor) == ("open", 1, 11)
    assert audited(m)[-1] == "mismatch.reopened"


def test_nothing_is_deleted():
    account = bank_account()
    statement(account, [{"amount_minor": 5, "day": D}])
    reconciliation_run(as_of=AS_OF)
    m = Mismatch.objects.get()
    with (
        pytest.raises(Exception, match="Cannot delete"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM integrations_mismatch WHERE id = %s", [m.pk])
    assert Mismatch.objects.filter(pk=m.pk).exists()


def test_a_suggested_funding_is_credited_once_by_an_operator(alice, ops_actor):
    account = bank_account()
    before = profile_wallet_balances(profile=alice)["GBP"].posted_minor
    statement(account, [{"amount_minor": 1234, "day": D, "bank_reference": "IN-77",
                         "remittance_info": f"profile {alice.pk}"}])  # fmt: skip
    statement_lines_match(bank_account_id=account.pk, actor_label="system:test")
    s = SuggestedFunding.objects.get()
    assert profile_wallet_balances(profile=alice)["GBP"].posted_minor == before

    entry_id = funding_confirm(actor=ops_actor, suggested_id=s.pk, note="checked the payer")

    assert profile_wallet_balances(profile=alice)["GBP"].posted_minor == before + 1234
    with pytest.raises(Conflict):
        funding_confirm(actor=ops_actor, suggested_id=s.pk)
    with pytest.raises(Conflict):
        funding_reject(actor=ops_actor, suggested_id=s.pk, note="no")
    s.refresh_from_db()
    assert (s.status, s.entry_id) == ("confirmed", entry_id)
    run = reconciliation_run(as_of=AS_OF)
    assert run.counts["checks"]["statement_line_unmatched"] == 0
    assert run.counts["checks"]["ledger_record_unmatched"] == 0


def test_a_line_cannot_be_in_two_live_matches(ops_actor):
    from integrations.reconciliation.models import ReconMatchItem

    account = bank_account()
    line = statement(account, [{"amount_minor": 5, "day": D}]).lines.get()
    a = ReconMatch.objects.create(bank_account=account, rule="manual", confidence=1, created_by="x")
    ReconMatchItem.objects.create(match=a, statement_line=line, amount_minor=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReconMatchItem.objects.create(match=a, statement_line=line, amount_minor=5)
