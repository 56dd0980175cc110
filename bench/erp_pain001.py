"""A pain.001 file of BENCH_ERP_PAYMENTS payments (10,000 by default) from upload to every
request validated and quoted (intake goes on to a funded transfer: quote, transfer and wallet
debit are all in it), against a bare bulk insert of the same rows in the same run.

- upload: `payment_file_import` as the API calls it: schema validation, NbOfTxs/CtrlSum, the
  file stored once with its intake row (a file of more than one chunk is answered here);
- intake: `payment_file_intake_run` as the worker's task calls it, chunk by chunk, until the
  file is done (in this process, without Celery: the task is a claim and this call);
- memory, to show it flat in the file's size: the parse's peak Python allocations
  (tracemalloc) for the file and a tenth of it, and the intake's for a tenth and a quarter
  of it (traced runs, slower: the timed run of the whole file is untraced).

    DATABASE_URL=postgres://... python -m bench.erp_pain001
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sys
import tracemalloc

from bench.common import clock, django_setup, migrate, scratch_database

PAYMENTS = int(os.environ.get("BENCH_ERP_PAYMENTS", "10000"))


def _file(count: int, *, prefix: str) -> bytes:
    from sepaxml import SepaTransfer  # the independent writer (a dev dependency)

    writer = SepaTransfer(
        {"name": "Bench Ltd", "IBAN": "GB33BUKB20201555555555", "BIC": "BUKBGB22",
         "batch": True, "currency": "EUR"},
        schema="pain.001.001.09", clean=True,
    )  # fmt: skip
    due = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)
    for i in range(count):
        writer.add_payment(
            {"name": "Lieferant GmbH", "IBAN": "DE89370400440532013000", "BIC": "COBADEFFXXX",
             "amount": 1000 + i, "execution_date": due,
             "description": f"Invoice {prefix}{i}", "endtoend_id": f"{prefix}-{i}"}
        )  # fmt: skip
    data: bytes = writer.export(validate=False)
    return data


def _parse_peak(data: bytes) -> tuple[float, int]:
    """Seconds and peak bytes allocated to check the file and read all its payments (the
    file's own bytes were allocated before: not counted)."""
    from fintech.payments.pain001 import pain001_check, pain001_payments

    tracemalloc.start()
    started = clock()
    parsed = pain001_check(data)
    for _ in pain001_payments(io.BytesIO(data), version=parsed.version):
        pass
    seconds = clock() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak


def _intake(profile, data: bytes, *, traced: bool) -> tuple[float, float, int, object]:  # type: ignore[no-untyped-def]
    """Upload, then intake to the end: (upload s, intake s, peak bytes allocated by the
    intake when traced, else 0, the batch)."""
    from fintech.core.services import Actor
    from fintech.payments.services.files import payment_file_import
    from fintech.payments.services.intake import payment_file_intake_run

    actor = Actor.system("bench")
    started = clock()
    result = payment_file_import(actor=actor, profile=profile, data=data, source_currency="GBP")
    upload_s = clock() - started
    if traced:
        tracemalloc.start()
    started = clock()
    payment_file_intake_run(intake_id=result.batch.intake.pk)
    intake_s = clock() - started
    peak = 0
    if traced:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return upload_s, intake_s, peak, result.batch


def main() -> int:
    with scratch_database("bench_erp") as url:
        django_setup(url)
        migrate()
        from django.conf import settings
        from django.db import reset_queries

        from fintech.core.services import Actor
        from fintech.payments.models import ApprovalPolicy, PaymentRequest
        from fintech.payments.pain001 import _schema
        from fintech.payments.selectors import payment_batch_states
        from fintech.payments.services.vendors import vendor_upsert
        from tests.builders import build_profile, build_wallet_funding

        settings.DEBUG = False  # no query log growing with the run
        reset_queries()
        profile = build_profile(legal_name="Bench Ltd")
        build_wallet_funding(profile=profile, currency="GBP", amount_minor=10**12)
        ApprovalPolicy.objects.create(
            profile=profile, approve_new_or_changed_vendors=False, thresholds_minor={}
        )
        vendor_upsert(
            actor=Actor.system("bench"), profile=profile, erp_vendor_id="V-1",
            name="Lieferant GmbH", holder_name="Lieferant GmbH", currency="EUR", country="DE",
            scheme="iban", details={"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
        )  # fmt: skip

        tenth = max(PAYMENTS // 10, 1)
        small, data = _file(tenth, prefix="S"), _file(PAYMENTS, prefix="E2E")
        _schema("pain.001.001.09")  # compiled once per process: not the file's cost
        small_s, small_peak = _parse_peak(small)
        parse_s, parse_peak = _parse_peak(data)
        print(
            f"parse (schema validation, totals, every payment read): {PAYMENTS} payments "
            f"({len(data) / 1e6:.1f} MB) in {parse_s:.2f}s, peak {parse_peak / 1e6:.2f} MB; "
            f"{tenth} ({len(small) / 1e6:.1f} MB) in {small_s:.2f}s, peak "
            f"{small_peak / 1e6:.2f} MB"
        )
        chunk = settings.PAYMENT_FILE_CHUNK_PAYMENTS
        # The intake's memory at two sizes (a tenth and a quarter of the file, several
        # chunks each) under tracemalloc, which slows it: the timed run below is untraced.
        for size in (tenth, max(PAYMENTS // 4, 1)):
            part = _file(size, prefix=f"M{size}")
            up_s, in_s, in_peak, _ = _intake(profile, part, traced=True)
            print(
                f"intake memory, {size} payments ({-(-size // chunk)} chunks of {chunk}): peak "
                f"{in_peak / 1e6:.1f} MB allocated (traced run: {up_s + in_s:.1f}s)"
            )
        upload_s, intake_s, _, batch = _intake(profile, data, traced=False)
        total_s = upload_s + intake_s
        states = payment_batch_states(batch=batch)  # type: ignore[arg-type]
        print(
            f"upload to quoted, {PAYMENTS} payments: upload (validated, stored) {upload_s:.1f}s "
            f"+ intake {intake_s:.1f}s = {total_s:.1f}s, {PAYMENTS / total_s:.1f} requests/s; "
            f"states {states}"
        )

        rows = [
            PaymentRequest(
                profile=profile, erp_payment_id=f"BARE-{i}", beneficiary_id=r.beneficiary_id,
                amount_side="target", amount_minor=r.amount_minor, currency="EUR",
                source_currency="GBP", target_currency="EUR", due_date=r.due_date,
                maker_label="bench",
            )
            for i, r in enumerate(batch.requests.all())  # type: ignore[attr-defined]
        ]  # fmt: skip
        started = clock()
        PaymentRequest.objects.bulk_create(rows, batch_size=1000)
        bare_s = clock() - started
        print(
            f"bare bulk insert of the same {len(rows)} rows: {bare_s:.2f}s = "
            f"{len(rows) / bare_s:.0f}/s; upload to quoted costs {total_s / bare_s:.0f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
