"""Period close: refused while the period has open mismatches; the frozen report as CSV and
a PDF an auditor can open; the row cannot be changed or deleted."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.db import connection, transaction

from fintech.core.errors import Conflict
from integrations.reconciliation.mismatches import mismatch_write_off
from integrations.reconciliation.models import Mismatch
from integrations.reconciliation.period_close import period_close
from integrations.reconciliation.runs import reconciliation_run
from tests.reconciliation.recon_builders import bank_account, ledger_record, statement

pytestmark = pytest.mark.django_db
NOV_1, NOV_30 = date(2026, 11, 1), date(2026, 11, 30)
D = date(2026, 11, 2)


def test_a_period_closes_only_when_its_mismatches_are_worked(ops_actor):
    account = bank_account()
    ledger_record(account, 1000, day=D, key="wallet-funding:sandbox-bank:P-1")
    statement(account, [
        {"amount_minor": 1000, "day": D, "end_to_end_id": "P-1"},
        {"amount_minor": 7, "day": D, "remittance_info": "stray"},
    ])  # fmt: skip
    reconciliation_run(as_of=date(2026, 11, 10))
    stray = Mismatch.objects.get()

    with pytest.raises(Conflict, match="open mismatches"):
        period_close(actor=ops_actor, start=NOV_1, end=NOV_30)

    mismatch_write_off(actor=ops_actor, mismatch_id=stray.pk, reason="seven pence, unknown")
    closed = period_close(actor=ops_actor, start=NOV_1, end=NOV_30)

    (row,) = csv.DictReader(io.StringIO(closed.report_csv))
    assert (row["matched_lines"], row["matched_minor"]) == ("1", "1000")
    assert (row["unmatched_lines"], row["unmatched_minor"]) == ("1", "7")
    assert (row["written_off"], row["written_off_minor"]) == ("1", "7")
    pdf = bytes(closed.report_pdf)
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert rb"written off 1 \(7 minor\)" in pdf  # PDF strings escape parentheses
    with pytest.raises(Conflict, match="overlaps"):
        period_close(actor=ops_actor, start=date(2026, 11, 15), end=date(2026, 12, 15))
    with (
        pytest.raises(Exception, match="Cannot update or delete"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM integrations_periodclose")


def test_the_pdf_is_well_formed_for_pdf_readers():
    from integrations.reconciliation.pdf import text_pdf

    pdf = text_pdf([f"line {i} (with parentheses) and \\ backslash" for i in range(150)],
                   title="t")  # fmt: skip
    # every xref offset points at its object
    xref_at = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    entries = pdf[xref_at:].split(b"\n")[3:]
    count = int(pdf[xref_at:].split(b"\n")[1].split()[1]) - 1
    for number, entry in enumerate(entries[:count], start=1):
        offset = int(entry.split()[0])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    assert b"/Count 3" in pdf  # 150 lines, 64 a page
