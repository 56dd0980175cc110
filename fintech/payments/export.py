"""Payments export per period: what an ERP imports to clear its payables. One row per request
that finished in [date_from, date_to) (completed, failed, rejected, cancelled, expired), with
the ERP's ids, ours, the money and the value date. JSON (the webhook payload's fields) or
CSV (the same columns)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from fintech.customers.models import Profile
from fintech.payments.models import PaymentRequest
from fintech.payments.services.lifecycle import payment_request_payload

FINISHED = [
    PaymentRequest.State.COMPLETED,
    PaymentRequest.State.FAILED,
    PaymentRequest.State.REJECTED,
    PaymentRequest.State.CANCELLED,
    PaymentRequest.State.EXPIRED,
]
COLUMNS = [
    "erp_payment_id", "erp_batch_id", "erp_vendor_id", "erp_approval_ref", "state",
    "amount", "currency", "source_amount", "source_currency", "target_amount",
    "target_currency", "rate", "fee", "value_date", "due_date", "bill_reference",
    "remittance_reference", "accounting_reference", "transfer_id", "finished_at",
    "failure_reason",
]  # fmt: skip


def _bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(date_to, dt.time.min, tzinfo=tz)


def payments_export_rows(
    *, profile: Profile, date_from: dt.date, date_to: dt.date
) -> Iterator[dict[str, Any]]:
    start, end = _bounds(date_from, date_to)
    requests = (
        PaymentRequest.objects.filter(
            profile=profile, state__in=FINISHED, finished_at__gte=start, finished_at__lt=end
        )
        .select_related("quote", "transfer", "vendor", "batch")
        .order_by("finished_at", "id")
    )
    for request in requests.iterator(chunk_size=500):
        row = payment_request_payload(request)
        row["finished_at"] = request.finished_at.isoformat() if request.finished_at else None
        yield row


def payments_export_csv(*, profile: Profile, date_from: dt.date, date_to: dt.date) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in payments_export_rows(profile=profile, date_from=date_from, date_to=date_to):
        # Spreadsheet formula injection: a cell starting with =, +, - or @ is quoted as text.
        writer.writerow(
            {
                k: ("'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v)
                for k, v in row.items()
            }
        )
    return out.getvalue()
