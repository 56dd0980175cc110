"""A pain.001 file larger than one chunk: validated and stored at upload, its payments taken in
the background by chunks (a due row the scan finds), resumed after a worker is killed, in
memory that does not grow with the file."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from fintech.payments.models import PaymentBatch, PaymentFileIntake, PaymentRequest
from fintech.payments.models import PaymentRequestTransition as Transition
from fintech.payments.pain001 import pain001_check, pain001_payments
from fintech.payments.services.intake import LEASE_SECONDS, payment_file_intake_run
from integrations.payments import tasks
from tests.payments.conftest import body, sync_vendor
from tests.payments.test_pain_files import pain001, status_report, tx_statuses, upload

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _payments(count: int, *, bad: set[int] = frozenset()) -> list[dict]:  # type: ignore[assignment]
    return [
        {"endtoend_id": f"E2E-{i}", "amount": 100000 + i, "description": f"Invoice {i}",
         **({"IBAN": "DE62370400440532013001"} if i in bad else {})}
        for i in range(count)
    ]  # fmt: skip


def _taken_by_the_worker() -> None:
    """What beat and the worker do: the scan takes the due files, the task claims and runs."""
    for intake_id in tasks.intakes_due():
        tasks.payment_file_intake(str(intake_id))


@pytest.mark.django_db
def test_a_file_larger_than_a_chunk_is_taken_in_the_background(
    erp_api, no_vendor_approval, settings
):
    settings.PAYMENT_FILE_CHUNK_PAYMENTS = 3
    sync_vendor(erp_api)
    data = pain001("pain.001.001.09", _payments(7, bad={4}))  # E2E-4: nobody's account

    response = upload(erp_api, data)

    # Validated and stored: the answer says so and shows the progress, nothing taken yet.
    assert response.status_code == 202, response.content
    accepted = body(response)
    assert accepted["request_count"] == 7
    assert accepted["states"] == {}
    assert accepted["intake"]["state"] == "pending"
    assert (accepted["intake"]["payments_total"], accepted["intake"]["payments_done"]) == (7, 0)
    assert PaymentRequest.objects.count() == 0

    # A worker with a time budget takes one chunk and gives the file back, due at once.
    intake = PaymentFileIntake.objects.get(batch_id=accepted["id"])
    run = payment_file_intake_run(intake_id=intake.pk, budget_seconds=0)
    assert (run.state, run.payments_done, run.chunks) == ("running", 3, 1)
    intake.refresh_from_db()
    assert intake.locked_until is None
    assert intake.next_run_at <= timezone.now()
    progress = body(erp_api.get(f"/payment-request-batches/{accepted['id']}"))
    assert progress["intake"]["payments_done"] == 3
    assert progress["states"] == {"transfer_created": 3}

    _taken_by_the_worker()

    done = body(erp_api.get(f"/payment-request-batches/{accepted['id']}"))
    assert done["intake"]["state"] == "done"
    assert done["intake"]["payments_done"] == 7
    assert done["intake"]["requests_created"] == 6
    assert done["intake"]["payments_rejected"] == 1
    assert done["intake"]["chunks_done"] == 3
    assert done["states"] == {"transfer_created": 6}
    assert [item["end_to_end_id"] for item in done["rejected_items"]] == ["E2E-4"]
    assert tasks.intakes_due() == []  # nothing left for the scan
    statuses = tx_statuses(status_report(erp_api, accepted["id"]))
    assert statuses["E2E-4"] == ("RJCT", ["AC01"])
    assert {s for k, (s, _) in statuses.items() if k != "E2E-4"} == {"ACCP"}

    # The same file again is the same batch, answered as it stands.
    again = upload(erp_api, data)
    assert again.status_code == 200
    assert body(again)["id"] == accepted["id"]


@pytest.mark.django_db
def test_a_file_above_the_apis_body_limit_is_taken_as_the_body_itself(
    erp_api, no_vendor_approval, settings
):
    """The API's body limit bounds JSON (the base64 file in it); the file itself as the body
    has the upload endpoint's own cap, PAYMENT_FILE_MAX_BYTES (32 MiB by default)."""
    settings.PAYMENT_FILE_CHUNK_PAYMENTS = 20
    sync_vendor(erp_api)
    data = pain001("pain.001.001.09", _payments(60))
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(data) // 2  # this file is twice the API's limit

    as_json = upload(erp_api, data)
    as_body = erp_api.post(
        "/payment-request-batches/files?source_currency=GBP",
        raw=data,
        content_type="application/xml",
    )

    assert as_json.status_code == 413
    assert as_body.status_code == 202, as_body.content
    assert body(as_body)["intake"]["payments_total"] == 60
    _taken_by_the_worker()
    done = body(erp_api.get(f"/payment-request-batches/{body(as_body)['id']}"))
    assert (done["intake"]["state"], done["states"]) == ("done", {"transfer_created": 60})


@pytest.mark.django_db
def test_operators_see_a_files_progress(client, ops, erp_api, no_vendor_approval, settings):
    settings.PAYMENT_FILE_CHUNK_PAYMENTS = 2
    sync_vendor(erp_api)
    batch_id = body(upload(erp_api, pain001("pain.001.001.09", _payments(5))))["id"]
    intake = PaymentFileIntake.objects.get(batch_id=batch_id)
    payment_file_intake_run(intake_id=intake.pk, budget_seconds=0)
    client.force_login(ops)

    listing = client.get("/admin/payments/paymentbatch/")
    page = client.get(f"/admin/payments/paymentbatch/{batch_id}/change/")

    assert b"Running: 2 of 5 payments taken (2 requests, 0 refused)" in listing.content
    assert b"Running: 2 of 5 payments taken" in page.content
    assert b"transfer_created: 2" in page.content


@pytest.mark.django_db
def test_a_large_file_an_operator_uploads_is_taken_in_their_name(
    erp_api, no_vendor_approval, settings
):
    from fintech.payments.models import Vendor
    from tests.payments.test_export_and_admin import _file, staff_client

    settings.PAYMENT_FILE_CHUNK_PAYMENTS = 2
    sync_vendor(erp_api)
    finance = staff_client("finance")
    form = {"profile": Vendor.objects.get().profile_id, "source_currency": "GBP"}
    data = pain001("pain.001.001.03", _payments(5))

    taken = finance.post("/admin/payments/paymentbatch/upload/", {**form, "file": _file(data)},
                         follow=True)  # fmt: skip
    _taken_by_the_worker()

    assert b"being taken in the background" in taken.content
    requests = PaymentRequest.objects.all()
    assert requests.count() == 5
    # The worker acts for whoever uploaded: the maker of every request (who may not approve).
    assert set(requests.values_list("maker_label", flat=True)) == {"user:finance-staff"}


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


WORKER = """
import sys
import django
django.setup()
from integrations.payments.tasks import payment_file_intake
payment_file_intake(sys.argv[1])
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_loses_only_its_chunk_and_the_scan_resumes_the_file(
    erp_api, no_vendor_approval, settings
):
    """A real worker process, killed (SIGKILL) while it takes the file: what it committed stays,
    chunk by chunk; the chunk it was in leaves no trace; once its lease lapses the scan hands
    the file on and the next run goes on from the cursor: every payment once."""
    settings.PAYMENT_FILE_CHUNK_PAYMENTS = 2
    sync_vendor(erp_api)
    total = 40
    batch_id = body(upload(erp_api, pain001("pain.001.001.09", _payments(total, bad={7}))))["id"]
    intake = PaymentFileIntake.objects.get(batch_id=batch_id)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "fintech.settings",
        "PAYMENT_FILE_CHUNK_PAYMENTS": "2",
    }
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(intake.pk)], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and worker.poll() is None:
            # Killed once it has committed a few chunks: most of its time is inside one.
            if PaymentFileIntake.objects.get(pk=intake.pk).payments_done >= 6:
                break
            time.sleep(0.02)
        assert worker.poll() is None, "the worker ended before it could be killed"
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)

    killed = PaymentFileIntake.objects.get(pk=intake.pk)
    assert killed.state == "running"
    assert 6 <= killed.payments_done < total
    assert killed.payments_done % 2 == 0  # whole chunks only
    # What was committed is exactly what the cursor says: no request of a half chunk.
    made = PaymentRequest.objects.filter(batch_id=batch_id).count()
    assert made == killed.requests_created
    assert killed.payments_done == made + killed.payments_rejected
    # Its lease holds the file: the scan does not hand it out while the worker might live.
    assert tasks.intakes_due() == []

    with time_machine.travel(timezone.now() + timedelta(seconds=LEASE_SECONDS + 1)):
        _taken_by_the_worker()

    intake.refresh_from_db()
    assert intake.state == "done"
    assert intake.payments_done == total
    assert (intake.requests_created, intake.payments_rejected) == (total - 1, 1)
    requests = PaymentRequest.objects.filter(batch_id=batch_id)
    assert requests.count() == total - 1
    assert set(requests.values_list("state", flat=True)) == {"transfer_created"}
    # Each request received once: one "receive" on each timeline, one audit of the import.
    receives = Transition.objects.filter(payment_request__batch_id=batch_id, transition="receive")
    assert receives.count() == total - 1
    batch = PaymentBatch.objects.get(pk=batch_id)
    assert [item["end_to_end_id"] for item in batch.rejected_items] == ["E2E-7"]


def _read_peak(data: bytes) -> int:
    tracemalloc.start()
    parsed = pain001_check(data)
    count = sum(1 for _ in pain001_payments(io.BytesIO(data), version=parsed.version))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == parsed.payment_count
    return peak


def test_reading_a_file_takes_the_same_memory_at_ten_times_its_size():
    small = pain001("pain.001.001.09", _payments(100))
    large = pain001("pain.001.001.09", _payments(1000))
    _read_peak(small)  # the schema's first use builds its caches: not the file's cost

    small_peak, large_peak = _read_peak(small), _read_peak(large)

    # Before streaming, 900 more payments cost 2.6 MB more (xmlschema kept each PmtInf
    # subtree, the reader kept each payment). What is left is xmlschema's own, about 170
    # bytes a payment (docs/erp.md), and the reader's nothing.
    assert large_peak - small_peak < 512 * 1024, (small_peak, large_peak)
