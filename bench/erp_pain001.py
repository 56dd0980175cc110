"""A pain.001 file of BENCH_ERP_PAYMENTS payments (10,000 by default) from upload to every
request validated and quoted (here: through to a funded transfer, which is what intake does),
against a bare bulk insert of the same rows in the same run. Also the parse alone: its time
and peak Python memory (tracemalloc) for the file and for one a tenth of its size, to show the
parse holds no tree (memory grows with the payment rows kept, not with the XML).

    DATABASE_URL=postgres://... python -m bench.erp_pain001
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tracemalloc

from bench.common import clock, django_setup, migrate, scratch_database

PAYMENTS = int(os.environ.get("BENCH_ERP_PAYMENTS", "10000"))


def _file(count: int) -> bytes:
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
             "description": f"Invoice {i}", "endtoend_id": f"E2E-{i}"}
        )  # fmt: skip
    data: bytes = writer.export(validate=False)
    return data


def _parse(data: bytes) -> tuple[float, int]:
    from fintech.payments.pain001 import pain001_read

    tracemalloc.start()
    started = clock()
    pain001_read(data)
    seconds = clock() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak


def main() -> int:
    with scratch_database("bench_erp") as url:
        django_setup(url)
        migrate()
        from fintech.core.services import Actor
        from fintech.payments.models import ApprovalPolicy, PaymentRequest
        from fintech.payments.services.files import payment_file_import
        from fintech.payments.services.vendors import vendor_upsert
        from tests.builders import build_profile, build_wallet_funding

        actor = Actor.system("bench")
        profile = build_profile(legal_name="Bench Ltd")
        build_wallet_funding(profile=profile, currency="GBP", amount_minor=10**12)
        ApprovalPolicy.objects.create(
            profile=profile, approve_new_or_changed_vendors=False, thresholds_minor={}
        )
        vendor_upsert(
            actor=actor, profile=profile, erp_vendor_id="V-1", name="Lieferant GmbH",
            holder_name="Lieferant GmbH", currency="EUR", country="DE", scheme="iban",
            details={"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
        )  # fmt: skip

        small, data = _file(max(PAYMENTS // 10, 1)), _file(PAYMENTS)
        from fintech.payments.pain001 import _schema

        _schema("pain.001.001.09")  # compiled once per process: not the file's cost
        small_s, small_peak = _parse(small)
        parse_s, parse_peak = _parse(data)
        print(
            f"parse: {PAYMENTS} payments ({len(data) / 1e6:.1f} MB) in {parse_s:.2f}s, peak "
            f"{parse_peak / 1e6:.1f} MB; a tenth of it: {small_s:.2f}s, peak "
            f"{small_peak / 1e6:.1f} MB"
        )

        started = clock()
        result = payment_file_import(actor=actor, profile=profile, data=data, source_currency="GBP")
        intake_s = clock() - started
        states = dict.fromkeys(result.batch.requests.values_list("state", flat=True).distinct())
        print(
            f"intake: {PAYMENTS} requests in {intake_s:.1f}s = {PAYMENTS / intake_s:.0f}/s "
            f"(states {sorted(states)})"
        )

        rows = [
            PaymentRequest(
                profile=profile, erp_payment_id=f"BARE-{i}", beneficiary_id=r.beneficiary_id,
                amount_side="target", amount_minor=r.amount_minor, currency="EUR",
                source_currency="GBP", target_currency="EUR", due_date=r.due_date,
                maker_label="bench",
            )
            for i, r in enumerate(result.batch.requests.all())
        ]  # fmt: skip
        started = clock()
        PaymentRequest.objects.bulk_create(rows, batch_size=1000)
        bare_s = clock() - started
        print(
            f"bare bulk insert of the same rows: {bare_s:.2f}s = {PAYMENTS / bare_s:.0f}/s; "
            f"intake costs {intake_s / bare_s:.0f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
