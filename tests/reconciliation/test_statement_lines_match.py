"""Matching on real PostgreSQL: each rule, one-to-one, batch and split, and unmatched money
in left as a suggested funding (never credited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from integrations.reconciliation.matching import statement_lines_match
from integrations.reconciliation.models import ReconMatch, ReconMatchItem, SuggestedFunding
from ledger.models import JournalEntry
from tests.reconciliation.recon_builders import bank_account, ledger_record, statement

pytestmark = pytest.mark.django_db
D = date(2026, 11, 2)


@dataclass(frozen=True)
class Seen:
    """A line's live match, whichever its shape: one item row (one-to-one) or a ReconMatch."""

    shape: str
    id: int
    rule: str
    confidence: int
    posting_ids: frozenset[int]


def match_of(line_id: int) -> Seen:
    item = ReconMatchItem.objects.select_related("match").get(
        statement_line_id=line_id, active=True
    )
    if item.match is None:
        assert item.rule
        assert item.confidence is not None
        return Seen("item", item.pk, item.rule, item.confidence, frozenset({item.posting_id}))
    postings = item.match.items.exclude(posting_id=None).values_list("posting_id", flat=True)
    return Seen("match", item.match.pk, item.match.rule, item.match.confidence,
                frozenset(postings))  # fmt: skip


def test_it_matches_exactly_on_end_to_end_id_uetr_and_our_reference():
    account = bank_account()
    by_ref = ledger_record(account, 1000, day=D, key="wallet-funding:sandbox-bank:BANK-1")
    by_uetr = ledger_record(
        account, 2000, day=D, metadata={"uetr": "3f2b2c2e-0000-4000-8000-000000000001"}
    )
    by_transfer = ledger_record(account, -3000, day=date(2026, 10, 1), key="transfer:T-9:complete")
    st = statement(account, [
        {"amount_minor": 1000, "day": D, "bank_reference": "bank 1"},
        {"amount_minor": 2000, "day": D, "uetr": "3F2B2C2E-0000-4000-8000-000000000001"},
        # an exact id needs no date window
        {"amount_minor": -3000, "day": D, "end_to_end_id": "t-9"},
    ])  # fmt: skip

    result = statement_lines_match(bank_account_id=account.pk, actor_label="system:test")

    assert result.matched["exact_id"] == 3
    assert (result.lines_left, result.postings_left) == (0, 0)
    for line, posting in zip(
        st.lines.order_by("position"), [by_ref, by_uetr, by_transfer], strict=True
    ):
        match = match_of(line.pk)
        assert (match.shape, match.rule, match.confidence) == ("item", "exact_id", 100)
        assert match.posting_ids == {posting}


def test_an_exact_id_with_a_different_amount_matches_with_low_confidence():
    account = bank_account()
    ledger_record(account, 1000, day=D, key="wallet-funding:sandbox-bank:REF7")
    st = statement(account, [{"amount_minor": 1001, "day": D, "end_to_end_id": "REF7"}])

    statement_lines_match(bank_account_id=account.pk, actor_label="system:test")

    assert match_of(st.lines.get().pk).confidence == 60


def test_reference_in_remittance_matches_within_the_window_only():
    account = bank_account()
    ledger_record(account, 500, day=D, key="wallet-funding:sandbox-bank:INV-42")
    ledger_record(account, 700, day=D, key="wallet-funding:sandbox-bank:INV-43")
    st = statement(account, [
        {"amount_minor": 500, "day": date(2026, 11, 4), "remittance_info": "Payment inv 42 thanks"},
        {"amount_minor": 700, "day": date(2026, 11, 9), "remittance_info": "INV-43"},
    ])  # fmt: skip

    result = statement_lines_match(bank_account_id=account.pk, actor_label="system:test")

    assert result.matched["reference_amount"] == 1
    first, late = st.lines.order_by("position")
    assert (match_of(first.pk).rule, match_of(first.pk).confidence) == ("reference_amount", 80)
    assert not ReconMatchItem.objects.filter(statement_line=late).exists()
    assert result.postings_left == 1


def test_a_duplicated_line_matches_once_and_its_copy_stays_unmatched():
    account = bank_account()
    ledger_record(account, 900, day=D, key="wallet-funding:sandbox-bank:DUP1")
    st = statement(account, [
        {"amount_minor": 900, "day": D, "end_to_end_id": "DUP1"},
        {"amount_minor": 900, "day": D, "end_to_end_id": "DUP1"},
    ])  # fmt: skip

    result = statement_lines_match(bank_account_id=account.pk, actor_label="system:test")

    assert result.matched["exact_id"] == 1
    assert result.lines_left == 1
    first = st.lines.order_by("position").first()
    assert match_of(first.pk).rule == "exact_id"


def test_one_line_pays_a_batch_and_two_lines_fund_one_record():
    account = bank_account(code="payout:sandbox-payout:GBP")
    batch = [
        ledger_record(account, -100, day=D, metadata={"batch_reference": "BATCH-7"}),
        ledger_record(account, -250, day=D, metadata={"batch_reference": "BATCH-7"}),
    ]
    funding = bank_account()
    split = ledger_record(funding, 1000, day=D, key="wallet-funding:sandbox-bank:SPLIT-1")
    st = statement(account, [{"amount_minor": -350, "day": D, "remittance_info": "batch 7"}])
    st2 = statement(funding, [
        {"amount_minor": 600, "day": D, "remittance_info": "SPLIT-1"},
        {"amount_minor": 400, "day": date(2026, 11, 3), "remittance_info": "split 1"},
    ])  # fmt: skip

    r1 = statement_lines_match(bank_account_id=account.pk, actor_label="system:test")
    r2 = statement_lines_match(bank_account_id=funding.pk, actor_label="system:test")

    assert r1.matched["batch"] == 1
    assert r2.matched["split"] == 1
    batch_match = match_of(st.lines.get().pk)
    assert (batch_match.shape, batch_match.rule) == ("match", "batch")
    assert batch_match.posting_ids == set(batch)
    lines = list(st2.lines.all())
    assert match_of(lines[0].pk) == match_of(lines[1].pk)
    assert match_of(lines[0].pk).posting_ids == {split}
    assert (r2.lines_left, r2.postings_left) == (0, 0)


def test_unmatched_money_in_is_suggested_as_a_funding_and_credited_to_nobody(alice):
    account = bank_account()
    entries_before = JournalEntry.objects.count()
    st = statement(account, [
        {"amount_minor": 1234, "day": D, "remittance_info": f"top up profile {alice.pk}",
         "bank_reference": "STRAY-1"},
        {"amount_minor": 55, "day": D, "remittance_info": "no idea"},
        {"amount_minor": -55, "day": D, "remittance_info": "bank fee"},
    ])  # fmt: skip

    result = statement_lines_match(bank_account_id=account.pk, actor_label="system:test")
    again = statement_lines_match(bank_account_id=account.pk, actor_label="system:test")

    assert result.suggested_fundings == 2
    assert again.suggested_fundings == 0
    first, second, _ = st.lines.order_by("position")
    assert SuggestedFunding.objects.get(statement_line=first).profile_id == alice.pk
    assert SuggestedFunding.objects.get(statement_line=second).profile_id is None
    assert JournalEntry.objects.count() == entries_before


def test_a_second_run_matches_nothing_twice():
    account = bank_account()
    ledger_record(account, 1000, day=D, key="wallet-funding:sandbox-bank:AGAIN")
    statement(account, [{"amount_minor": 1000, "day": D, "end_to_end_id": "AGAIN"}])

    statement_lines_match(bank_account_id=account.pk, actor_label="system:test")
    second = statement_lines_match(bank_account_id=account.pk, actor_label="system:test")

    assert sum(second.matched.values()) == 0
    assert ReconMatchItem.objects.count() == 1
    assert not ReconMatch.objects.exists()  # a one-to-one match is its item row


def test_the_match_tables_keys_are_still_enforced_per_statement():
    """Migration 0016 checks the keys per statement instead of per row: a missing parent
    still refuses the insert, and a referenced line or match cannot be deleted."""
    from django.db import IntegrityError, connection, transaction

    account = bank_account()
    ledger_record(account, 1000, day=D, key="wallet-funding:sandbox-bank:KEY-1")
    line = statement(account, [{"amount_minor": 1000, "day": D, "end_to_end_id": "KEY-1"}])
    statement_lines_match(bank_account_id=account.pk, actor_label="system:test")
    match = ReconMatch.objects.create(bank_account=account, rule="manual", confidence=100)
    ReconMatchItem.objects.create(match=match, posting_id=2, amount_minor=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        ReconMatchItem.objects.create(match_id=match.pk + 1000, posting_id=1, amount_minor=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReconMatchItem.objects.create(match=match, statement_line_id=10**9, amount_minor=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReconMatch.objects.create(bank_account_id=10**9, rule="manual", confidence=100)
    for table, pk in (
        ("integrations_statementline", line.lines.get().pk),
        ("integrations_reconmatch", match.pk),
        ("integrations_bankaccount", account.pk),
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])


@pytest.mark.parametrize("plan", ["index probes", "hash anti join"])
def test_the_item_line_key_check_refuses_a_missing_line_whichever_plan_it_gets(plan):
    """Migration 0023 plans the item -> line check per statement (a hash anti join for a
    match run's 100,000s of items, index probes for a few): both refuse a missing line,
    naming it, and let the statement's other rows through when none is missing."""
    from django.db import IntegrityError, connection, transaction

    account = bank_account()
    lines = statement(account, [{"amount_minor": 100 + i, "day": D} for i in range(3)])
    ids = list(lines.lines.order_by("pk").values_list("pk", flat=True))
    missing = max(ids) + 1000

    def items(line_ids):  # type: ignore[no-untyped-def]
        return [
            ReconMatchItem(statement_line_id=pk, posting_id=10**6 + pk, amount_minor=1,
                           posting_amount_minor=1, rule="manual", confidence=100)
            for pk in line_ids
        ]  # fmt: skip

    def insert(line_ids):  # type: ignore[no-untyped-def]
        with transaction.atomic(), connection.cursor() as cursor:
            if plan == "hash anti join":
                cursor.execute("SET LOCAL enable_nestloop = off; SET LOCAL enable_mergejoin = off")
            else:
                cursor.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
            ReconMatchItem.objects.bulk_create(items(line_ids))

    with pytest.raises(IntegrityError, match=f"item_line(?s:.*){missing}"):
        insert([*ids, missing])
    insert(ids)
    assert ReconMatchItem.objects.filter(statement_line_id__in=ids).count() == 3


def test_a_match_for_an_unknown_bank_account_is_refused_as_a_foreign_key_would():
    # Migration 0016's statement-level key check, per distinct account since 0019.
    from django.db import IntegrityError, transaction

    account = bank_account()
    with pytest.raises(IntegrityError, match="match_account"), transaction.atomic():
        ReconMatch.objects.bulk_create([
            ReconMatch(bank_account_id=account.pk, rule="manual", confidence=100),
            ReconMatch(bank_account_id=account.pk + 1000, rule="manual", confidence=100),
        ])  # fmt: skip
    ReconMatch.objects.create(bank_account_id=account.pk, rule="manual", confidence=100)


def test_a_one_to_one_row_names_its_rule_and_both_sides_and_undone_means_inactive():
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    account = bank_account()
    line = statement(account, [{"amount_minor": 5, "day": D}]).lines.get()
    with pytest.raises(IntegrityError, match="own_match"), transaction.atomic():
        ReconMatchItem.objects.create(statement_line=line, posting_id=1, amount_minor=5,
                                      posting_amount_minor=5)  # fmt: skip
    with pytest.raises(IntegrityError, match="active_not_undone"), transaction.atomic():
        ReconMatchItem.objects.create(statement_line=line, posting_id=1, amount_minor=5,
                                      posting_amount_minor=5, rule="manual", confidence=100,
                                      undone_at=timezone.now())  # fmt: skip


def test_a_pair_found_by_two_identifiers_is_matched_once():
    account = bank_account()
    posting = ledger_record(account, 800, day=D, key="wallet-funding:sandbox-bank:BOTH-1")
    st = statement(account, [
        {"amount_minor": 800, "day": D, "end_to_end_id": "both-1", "bank_reference": "BOTH 1"},
    ])  # fmt: skip

    result = statement_lines_match(bank_account_id=account.pk, actor_label="system:test")

    assert (result.matched["exact_id"], result.lines_left, result.postings_left) == (1, 0, 0)
    assert match_of(st.lines.get().pk).posting_ids == {posting}
    assert ReconMatchItem.objects.count() == 1
