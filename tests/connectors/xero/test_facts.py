"""The facts say what the ledger says: amounts from the postings of each transfer step, the
wallet funding's entry, and each day's movements per role (one streamed query)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fintech.transfers.services import transfer_cancel
from integrations.connectors.accounting import facts
from integrations.connectors.accounting.facts import FactsUnavailable
from ledger import chart
from ledger.models import JournalEntry, Posting
from ledger.selectors import account_balance
from ledger.services import PostingSpec, account_open, entry_post
from tests.builders import build_profile, build_wallet_funding
from tests.transfers.conftest import OPS, STEP

pytestmark = pytest.mark.django_db


def revenue(source: str, target: str) -> tuple[int, int]:
    """(fee revenue in source, FX margin revenue in target) as the ledger's balances say."""
    fees = chart.fee_revenue_account(currency=source)
    margin = chart.fx_margin_revenue_account(currency=target)
    return account_balance(account_id=fees.pk), account_balance(account_id=margin.pk)


def transfer_entry_ids(reference: str) -> list[int]:
    return list(
        JournalEntry.objects.filter(idempotency_key__startswith=f"transfer:{reference}:")
        .order_by("effective_at", "id")
        .values_list("id", flat=True)
    )


# --------------------------------------------------------------------------- transfers


def test_transfer_facts_are_what_the_submit_entry_says(alice, send) -> None:
    fees_before, margin_before = revenue("GBP", "EUR")
    transfer = send("completed", amount="1000.00")
    fees_after, margin_after = revenue("GBP", "EUR")

    t = facts.transfer_facts(transfer_id=transfer.pk)

    assert t.fee_minor == fees_after - fees_before == transfer.fee_minor
    assert t.margin_minor == margin_after - margin_before
    assert (t.source_currency, t.source_minor) == ("GBP", transfer.source_amount_minor)
    assert (t.target_currency, t.target_minor) == ("EUR", transfer.target_amount_minor)
    assert t.converted_minor == transfer.source_amount_minor - transfer.fee_minor
    assert t.rate == transfer.quote.customer_rate
    assert isinstance(t.rate, Decimal)
    assert t.booked_on == timezone.now().astimezone(dt.UTC).date()
    assert t.beneficiary_name == "Alice's supplier GmbH"
    assert t.bill_reference == ""
    assert t.state == "completed"
    assert t.entry_ids == tuple(transfer_entry_ids(transfer.reference))
    assert len(t.entry_ids) == 3  # fund, submit, complete
    assert (t.unwound_by, t.unwound_on) == ("", None)
    assert t.contact == facts.ContactFacts(
        reference=f"PRF-{alice.pk}", name="Alice Trading Ltd", email=alice.email
    )


def test_it_refuses_a_transfer_the_ledger_has_not_submitted(send) -> None:
    transfer = send("funded")
    with pytest.raises(FactsUnavailable, match="no submit entry"):
        facts.transfer_facts(transfer_id=transfer.pk)
    with pytest.raises(FactsUnavailable, match="no transfer"):
        facts.transfer_facts(transfer_id=transfer.pk + 10_000)


def test_a_failed_transfer_names_the_unwind_that_gave_fee_and_margin_back(send) -> None:
    before = revenue("GBP", "EUR")
    transfer = send("failed")
    assert revenue("GBP", "EUR") == before  # the unwind gave everything back

    t = facts.transfer_facts(transfer_id=transfer.pk)

    assert t.state == "failed"
    assert t.unwound_by == "fail:unwind"
    assert t.unwound_on == t.booked_on
    assert t.fee_minor == transfer.fee_minor  # what the submit entry recognised
    assert len(t.entry_ids) == 4  # fund, submit, fail:unwind, fail


def test_a_cancel_after_submit_is_an_unwind_too(send) -> None:
    transfer = send("processing")
    transfer_cancel(actor=OPS, transfer_id=transfer.pk, reason="customer asked")
    t = facts.transfer_facts(transfer_id=transfer.pk)
    assert (t.state, t.unwound_by) == ("cancelled", "cancel:unwind")


def test_a_refund_after_completion_gives_back_fee_and_margin(send) -> None:
    transfer = send("completed")
    fees, margin = revenue("GBP", "EUR")
    STEP["refund"](actor=OPS, transfer_id=transfer.pk, reason="returned by the bank")
    fees_after, margin_after = revenue("GBP", "EUR")

    r = facts.refund_facts(transfer_id=transfer.pk)

    assert r.fee_minor == fees - fees_after == transfer.fee_minor
    assert r.margin_minor == margin - margin_after == r.transfer.margin_minor
    assert r.source_minor == transfer.source_amount_minor
    assert r.booked_on == timezone.now().astimezone(dt.UTC).date()
    assert r.transfer.state == "refunded"
    assert r.transfer.unwound_by == "refund:unwind"
    assert len(r.transfer.entry_ids) == 6


def test_a_refund_after_failure_gives_back_nothing_more(send) -> None:
    transfer = send("refunded_after_failure")
    r = facts.refund_facts(transfer_id=transfer.pk)
    assert (r.fee_minor, r.margin_minor) == (0, 0)  # given back by fail:unwind already
    assert r.source_minor == transfer.source_amount_minor
    assert r.transfer.unwound_by == "fail:unwind"


def test_refund_facts_need_a_refund_entry(send) -> None:
    transfer = send("completed")
    with pytest.raises(FactsUnavailable, match="no refund entry"):
        facts.refund_facts(transfer_id=transfer.pk)


PAIRS = [("GBP", "EUR"), ("GBP", "USD"), ("EUR", "GBP"), ("EUR", "USD")]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pair=st.sampled_from(PAIRS),
    cents=st.integers(min_value=100, max_value=200_000),
    refund=st.booleans(),
)
def test_fee_and_margin_equal_the_revenue_accounts_movement(send, pair, cents, refund) -> None:
    source, target = pair
    before = revenue(source, target)
    transfer = send(
        "refunded" if refund else "completed",
        source=source,
        target=target,
        amount=str(Decimal(cents).scaleb(-2)),
    )
    t = facts.transfer_facts(transfer_id=transfer.pk)
    after = revenue(source, target)
    if refund:
        r = facts.refund_facts(transfer_id=transfer.pk)
        assert after == before
        assert (r.fee_minor, r.margin_minor) == (t.fee_minor, t.margin_minor)
    else:
        assert (t.fee_minor, t.margin_minor) == (after[0] - before[0], after[1] - before[1])
    # The submit entry balances per currency, so fee and margin are what is left of S and T.
    assert t.source_minor == t.fee_minor + t.converted_minor


# --------------------------------------------------------------------------- wallet funding


def test_funding_facts_are_the_funding_entry(alice) -> None:
    entry_id = build_wallet_funding(profile=alice, currency="EUR", amount_minor=12_345)
    f = facts.funding_facts(entry_id=entry_id)
    entry = JournalEntry.objects.get(pk=entry_id)
    assert f.reference == entry.idempotency_key
    assert f.reference.startswith("wallet-funding:sandbox-bank:")
    assert (f.currency, f.amount_minor, f.entry_id) == ("EUR", 12_345, entry_id)
    assert f.contact.reference == f"PRF-{alice.pk}"
    assert f.booked_on == timezone.now().astimezone(dt.UTC).date()


def test_funding_facts_refuse_other_entries(send) -> None:
    transfer = send("funded")
    fund_entry = transfer_entry_ids(transfer.reference)[0]
    with pytest.raises(FactsUnavailable, match="no wallet funding"):
        facts.funding_facts(entry_id=fund_entry)
    with pytest.raises(FactsUnavailable, match="no ledger entry"):
        facts.funding_facts(entry_id=fund_entry + 10_000)


# --------------------------------------------------------------------------- daily movements

DAYS = [dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 5), dt.date(2026, 3, 6)]


def role_of(code: str) -> str:
    return next(role for prefix, role in facts.ROLE_BY_CODE_PREFIX if code.startswith(prefix))


def expected_movements(start: dt.date, end: dt.date) -> dict[tuple[dt.date, str], dict]:
    """The same sums the slow way: every posting in Python."""
    out: dict[tuple[dt.date, str], dict] = defaultdict(
        lambda: {"lines": defaultdict(lambda: [0, 0]), "entries": set()}
    )
    postings = Posting.objects.select_related("entry", "account")
    for p in postings:
        day = p.entry.effective_at.astimezone(dt.UTC).date()
        if start <= day <= end:
            bucket = out[(day, p.currency)]
            line = bucket["lines"][role_of(p.account.code)]
            line[0] += p.debit_minor
            line[1] += p.credit_minor
            bucket["entries"].add(p.entry_id)
    return out


@pytest.fixture
def busy_days(alice, send) -> int:
    """A few hundred entries over four days (one without transfers at the edges of the day)."""
    bob = build_profile(legal_name="Bob's Bakery Ltd")
    for n, day in enumerate(DAYS):
        for hour in (0, 13, 23):
            at = dt.datetime.combine(day, dt.time(hour, 59 if hour == 23 else 0), tzinfo=dt.UTC)
            with time_machine.travel(at, tick=False):
                for i in range(8):
                    build_wallet_funding(profile=bob, currency="GBP", amount_minor=1_000 + i)
                    build_wallet_funding(profile=alice, currency="EUR", amount_minor=2_000 + i)
                states = ["completed", "completed", "failed", "refunded", "processing"]
                for state in states if n != 2 else []:
                    send(state, amount=f"{100 + hour}.{n}5")
                send("completed", source="EUR", target="USD", amount="75.00")
    return JournalEntry.objects.filter(effective_at__date__in=DAYS).count()


def test_daily_movements_balance_and_match_every_posting(busy_days) -> None:
    assert busy_days > 300
    start, end = DAYS[0], DAYS[-1]
    movements = list(facts.daily_movements(start=start, end=end))
    expected = expected_movements(start, end)

    assert [(m.day, m.currency) for m in movements] == sorted(expected)
    for m in movements:
        want = expected[(m.day, m.currency)]
        assert {line.role: [line.debit_minor, line.credit_minor] for line in m.lines} == want[
            "lines"
        ]
        assert [line.role for line in m.lines] == sorted(line.role for line in m.lines)
        assert m.entry_count == len(want["entries"])
        assert sum(line.debit_minor for line in m.lines) == sum(
            line.credit_minor for line in m.lines
        )
        drill_down = facts.journal_entry_ids(day=m.day, currency=m.currency)
        assert list(drill_down) == sorted(want["entries"])
    assert sum(m.entry_count for m in movements if m.currency == "GBP") > 100


def test_daily_movements_are_one_streamed_query(busy_days, django_assert_max_num_queries) -> None:
    start, end = DAYS[0], DAYS[-1]
    whole = list(facts.daily_movements(start=start, end=end))
    with django_assert_max_num_queries(1):
        chunked = list(facts.daily_movements(start=start, end=end, chunk_size=3))
    assert chunked == whole

    # Rows come through a server-side cursor: it is open on the server while we read.
    stream = facts.daily_movements(start=start, end=end, chunk_size=3)
    next(stream)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        assert cursor.fetchone()[0] == 1
    stream.close()


def test_daily_movements_take_both_ends_and_nothing_outside(busy_days) -> None:
    one_day = list(facts.daily_movements(start=DAYS[1], end=DAYS[1]))
    assert {m.day for m in one_day} == {DAYS[1]}
    assert (
        list(
            facts.daily_movements(
                start=DAYS[1] + dt.timedelta(days=1), end=DAYS[2] - dt.timedelta(days=1)
            )
        )
        == []
    )
    with pytest.raises(ValueError, match="before start"):
        list(facts.daily_movements(start=DAYS[1], end=DAYS[0]))


def test_every_account_of_the_chart_has_a_role() -> None:
    accounts = [
        chart.wallet_account(owner="profile:1", currency="GBP"),
        chart.transfer_clearing_account(currency="GBP"),
        chart.funding_partner_account(partner="bank-gb", currency="GBP"),
        chart.payout_partner_account(partner="payout-eu", currency="EUR"),
        chart.fx_position_account(currency="GBP"),
        chart.fee_revenue_account(currency="GBP"),
        chart.fx_margin_revenue_account(currency="EUR"),
    ]
    roles = {a.code: role_of(a.code) for a in accounts}
    assert set(roles.values()) == set(facts.JOURNAL_ROLES)


def test_an_account_without_a_role_stops_the_journal(alice) -> None:
    odd = account_open(code="suspense:GBP", name="Suspense", type="liability", currency="GBP")
    funding = chart.funding_partner_account(partner="bank-gb", currency="GBP")
    entry_post(
        idempotency_key="test:suspense",
        postings=[
            PostingSpec.debit(funding.pk, 100, "GBP"),
            PostingSpec.credit(odd.pk, 100, "GBP"),
        ],
        memo="unidentified receipt",
    )
    today = timezone.now().astimezone(dt.UTC).date()
    with pytest.raises(FactsUnavailable, match="no role covers"):
        list(facts.daily_movements(start=today, end=today))
