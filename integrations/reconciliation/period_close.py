"""Period close: refused while the period has open mismatches; freezes the period's
reconciliation report (per bank account: matched, unmatched, written off) as CSV and PDF in
an append-only row."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date

from django.db import connection, transaction

from fintech.core.errors import Conflict, FieldError, ValidationFailed
from fintech.core.services import Actor, audit_record, event_emit
from integrations.reconciliation.models import Mismatch, PeriodClose
from integrations.reconciliation.pdf import text_pdf

COLUMNS = (
    "bank_account", "currency", "ledger_account", "lines", "matched_lines", "matched_minor",
    "unmatched_lines", "unmatched_minor", "written_off", "written_off_minor",
    "open_mismatches",
)  # fmt: skip


def period_report(*, start: date, end: date) -> list[dict[str, object]]:
    """One row per bank account for lines whose value date is in the period."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH lines AS (
                SELECT s.bank_account_id, l.id, l.amount_minor,
                       EXISTS (SELECT 1 FROM integrations_reconmatchitem i
                               WHERE i.statement_line_id = l.id AND i.active) AS matched
                FROM integrations_statementline l
                JOIN integrations_bankstatement s ON s.id = l.statement_id
                WHERE coalesce(l.value_date, l.booking_date) BETWEEN %(start)s AND %(end)s)
            SELECT b.name, b.currency, b.ledger_account_code,
                   count(x.id),
                   count(x.id) FILTER (WHERE x.matched),
                   coalesce(sum(x.amount_minor) FILTER (WHERE x.matched), 0)::bigint,
                   count(x.id) FILTER (WHERE NOT x.matched),
                   coalesce(sum(x.amount_minor) FILTER (WHERE NOT x.matched), 0)::bigint,
                   (SELECT count(*) FROM integrations_mismatch m WHERE m.bank_account_id = b.id
                      AND m.state = 'written_off' AND m.as_of BETWEEN %(start)s AND %(end)s),
                   (SELECT coalesce(sum(m.difference_minor), 0)::bigint
                      FROM integrations_mismatch m WHERE m.bank_account_id = b.id
                      AND m.state = 'written_off' AND m.as_of BETWEEN %(start)s AND %(end)s),
                   (SELECT count(*) FROM integrations_mismatch m WHERE m.bank_account_id = b.id
                      AND m.state IN ('open', 'investigating')
                      AND m.as_of BETWEEN %(start)s AND %(end)s)
            FROM integrations_bankaccount b
            LEFT JOIN lines x ON x.bank_account_id = b.id
            GROUP BY b.id ORDER BY b.name, b.id
            """,
            {"start": start, "end": end},
        )
        return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]


def _csv(rows: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _pdf(rows: list[dict[str, object]], *, start: date, end: date, actor: Actor) -> bytes:
    lines = [f"Reconciliation report {start} to {end}, closed by {actor.label}", ""]
    for row in rows:
        lines += [
            f"{row['bank_account']} ({row['currency']}, ledger {row['ledger_account']})",
            f"  statement lines {row['lines']}: matched {row['matched_lines']} "
            f"({row['matched_minor']} minor), unmatched {row['unmatched_lines']} "
            f"({row['unmatched_minor']} minor)",
            f"  written off {row['written_off']} ({row['written_off_minor']} minor)",
            "",
        ]
    return text_pdf(lines, title=f"Reconciliation {start} to {end}")


@transaction.atomic
def period_close(*, actor: Actor, start: date, end: date) -> PeriodClose:
    if end < start:
        raise ValidationFailed(
            [FieldError("end", "before_start", "the period ends before it starts")]
        )
    # Lock the mismatch queue's rows of the period: a run opening one while we close waits.
    open_ = list(
        Mismatch.objects.select_for_update()
        .filter(as_of__range=(start, end), state__in=["open", "investigating"])
        .values_list("pk", flat=True)[:20]
    )
    if open_:
        raise Conflict(
            f"the period {start} to {end} has open mismatches ({', '.join(map(str, open_))}"
            f"{'…' if len(open_) == 20 else ''}): resolve them first"
        )
    if PeriodClose.objects.filter(period_start__lte=end, period_end__gte=start).exists():
        raise Conflict(f"the period {start} to {end} overlaps a closed period")
    rows = period_report(start=start, end=end)
    report = _csv(rows)
    closed = PeriodClose.objects.create(
        period_start=start, period_end=end, closed_by=actor.label,
        summary={"accounts": len(rows),
                 "matched_lines": sum(int(r["matched_lines"]) for r in rows),  # type: ignore[call-overload]
                 "unmatched_lines": sum(int(r["unmatched_lines"]) for r in rows),  # type: ignore[call-overload]
                 "written_off": sum(int(r["written_off"]) for r in rows)},  # type: ignore[call-overload]
        report_csv=report, report_pdf=_pdf(rows, start=start, end=end, actor=actor),
        report_sha256=hashlib.sha256(report.encode()).hexdigest(),
    )  # fmt: skip
    audit_record(actor=actor, action="reconciliation.period_closed", target=closed,
                 data={"start": str(start), "end": str(end), **closed.summary})  # fmt: skip
    event_emit(type="reconciliation.period.closed",
               payload={"period_close_id": closed.pk, "start": str(start), "end": str(end)},
               profile_id=None)  # fmt: skip
    return closed
