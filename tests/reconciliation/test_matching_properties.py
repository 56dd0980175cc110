"""Property: random ledgers and statements with injected faults produce exactly the expected
mismatches, and nothing else.

Each ledger record (a funding with its own reference) gets a statement line that names it,
by end-to-end id or in the remittance information, then at most one fault:

| fault | expected |
|---|---|
| missing line | the record: ledger_record_unmatched |
| duplicated line | the copy: statement_line_unmatched |
| amount off by one minor unit (line names the record by id) | match_amount_difference |
| date outside the window (named in remittance) | the line and the record unmatched |
| line split in two (same reference) | nothing: the split rule matches it |
"""

from __future__ import annotations

import collections
from datetime import date, timedelta

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.reconciliation.matching import window_days
from integrations.reconciliation.models import Mismatch
from integrations.reconciliation.runs import reconciliation_run
from tests.reconciliation.recon_builders import bank_account, ledger_record, statement

FIRST = date(2026, 11, 1)
AS_OF = date(2026, 11, 25)
FAULTS = ["none", "missing", "duplicated", "off_by_one", "outside_window", "split"]

records = st.lists(
    st.tuples(
        st.integers(min_value=2, max_value=5_000_000),  # amount
        st.integers(min_value=0, max_value=4),  # day offset
        st.sampled_from(["e2e", "remittance"]),  # how the line names the record
        st.sampled_from(FAULTS),
        st.booleans(),  # money in or out
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records=records)
def test_injected_faults_give_exactly_the_expected_mismatches(
    django_db_setup, django_db_blocker, records
):
    with django_db_blocker.unblock(), transaction.atomic():
        check(records)
        transaction.set_rollback(True)  # each example starts from an empty ledger


def check(records) -> None:
    account = bank_account()
    window = window_days()
    lines: list[dict] = []
    expected: collections.Counter[str] = collections.Counter()
    # An anchor on the last day: the statement covers every record's day.
    ledger_record(account, 1, day=FIRST + timedelta(days=6), key="wallet-funding:b:ANCHOR")
    lines.append({"amount_minor": 1, "day": FIRST + timedelta(days=6), "end_to_end_id": "ANCHOR"})
    for i, (amount, offset, naming, fault, money_in) in enumerate(records):
        ref = f"R{i:04d}Z"
        signed = amount if money_in else -amount
        day = FIRST + timedelta(days=offset)
        ledger_record(account, signed, day=day, key=f"wallet-funding:b:{ref}")
        if fault == "off_by_one":
            naming = "e2e"
        if fault == "outside_window":
            naming = "remittance"
        names = {"end_to_end_id": ref} if naming == "e2e" else {"remittance_info": f"pay {ref}"}
        line = {"amount_minor": signed, "day": day, **names}
        if fault == "missing":
            expected["ledger_record_unmatched"] += 1
        elif fault == "duplicated":
            lines += [line, dict(line)]
            expected["statement_line_unmatched"] += 1
        elif fault == "off_by_one":
            lines.append({**line, "amount_minor": signed + 1})
            expected["match_amount_difference"] += 1
        elif fault == "outside_window":
            lines.append({**line, "day": day + timedelta(days=window + 1)})
            expected["statement_line_unmatched"] += 1
            expected["ledger_record_unmatched"] += 1
        elif fault == "split":
            part = signed // 2
            lines += [{**line, "amount_minor": part}, {**line, "amount_minor": signed - part}]
        else:
            lines.append(line)
    statement(account, lines)

    run = reconciliation_run(as_of=AS_OF)

    found = collections.Counter(
        Mismatch.objects.filter(state="open").values_list("check_name", flat=True)
    )
    assert found == expected, (records, run.counts)
    assert run.status == "succeeded"
