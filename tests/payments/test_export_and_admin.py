"""The payments export per period (JSON and CSV), the polling filter, and the operators'
screens: requests, the exception list with its actions, and the approval-failure metric."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from fintech.core.models import AuditEvent
from fintech.core.services import Actor
from fintech.payments.models import ApprovalFailure, PaymentBatch, PaymentRequest, Vendor
from fintech.transfers.services import transfer_complete, transfer_submit
from tests.builders import build_user
from tests.payments.conftest import body, dispatch_pending, request_body, sync_vendor
from tests.payments.test_pain_files import pain001

pytestmark = pytest.mark.django_db
PARTNER = Actor.system("test-partner")


@pytest.fixture
def completed(erp_api, no_vendor_approval) -> dict:
    sync_vendor(erp_api)
    made = body(erp_api.post("/payment-requests", request_body(erp_payment_id="PAY-EXP")))
    dispatch_pending()
    transfer_submit(actor=PARTNER, transfer_id=made["transfer_id"])
    transfer_complete(actor=PARTNER, transfer_id=made["transfer_id"])
    dispatch_pending()
    return made


def _period() -> dict[str, str]:
    today = timezone.localdate()
    return {
        "date_from": today.isoformat(),
        "date_to": (today + timezone.timedelta(days=1)).isoformat(),
    }


def test_the_export_lists_what_finished_in_the_period(erp_api, completed):
    response = erp_api.get("/payment-requests/export", _period())
    assert response.status_code == 200, response.content
    (row,) = body(response)["payments"]
    assert row["erp_payment_id"] == "PAY-EXP"
    assert row["state"] == "completed"
    assert row["accounting_reference"]
    as_csv = erp_api.get("/payment-requests/export", {**_period(), "format": "csv"})
    assert as_csv["Content-Type"].startswith("text/csv")
    (line,) = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    assert line["erp_payment_id"] == "PAY-EXP"
    assert line["target_amount"] == "1250.00"
    empty = erp_api.get(
        "/payment-requests/export", {"date_from": "2026-01-01", "date_to": "2026-01-02"}
    )
    assert body(empty)["payments"] == []
    bad = erp_api.get(
        "/payment-requests/export", {"date_from": "2026-01-02", "date_to": "2026-01-01"}
    )
    assert bad.status_code == 400


def test_an_erp_polls_for_what_changed(erp_api, completed):
    later = (timezone.now() + timezone.timedelta(minutes=5)).isoformat()
    assert body(erp_api.get("/payment-requests", {"updated_since": later}))["results"] == []
    found = body(erp_api.get("/payment-requests", {"state": "completed"}))["results"]
    assert [r["erp_payment_id"] for r in found] == ["PAY-EXP"]


def test_operators_see_requests_exceptions_and_the_metric(client, ops, erp_api, completed):
    client.force_login(ops)
    held = body(
        erp_api.post(
            "/payment-requests",
            request_body(bill_reference=PaymentRequest.objects.get().bill_reference),
        )
    )
    assert held["state"] == "held"
    ApprovalFailure.objects.create(profile_id=PaymentRequest.objects.get(pk=held["id"]).profile_id,
                                   reason="maker_cannot_approve")  # fmt: skip
    for url in (
        "/admin/payments/paymentrequest/",
        f"/admin/payments/paymentrequest/{held['id']}/change/",
        "/admin/payments/paymentbatch/",
        "/admin/payments/vendor/",
        "/admin/payments/approvalpolicy/",
    ):
        assert client.get(url).status_code == 200, url
    exceptions = client.get("/admin/payments/paymentexception/")
    assert exceptions.status_code == 200
    assert b"PAY-EXP" not in exceptions.content  # completed: not an exception
    assert held["erp_payment_id"].encode() in exceptions.content
    metric = client.get("/admin/payments/approvalfailure/")
    assert b"maker_cannot_approve" in metric.content

    # Release the held request after review: it goes on (and is paid).
    response = client.post(
        "/admin/payments/paymentrequest/",
        {
            "action": "release",
            "_selected_action": [held["id"]],
            "confirm": "yes",
            "reason": "checked: a second instalment",
        },
    )
    assert response.status_code == 302
    assert PaymentRequest.objects.get(pk=held["id"]).state == "transfer_created"

    export = client.post(
        "/admin/payments/paymentrequest/",
        {"action": "export_csv", "_selected_action": [completed["id"]]},
    )
    assert export["Content-Type"].startswith("text/csv")
    assert b"PAY-EXP" in export.content


def staff_client(role: str) -> Client:
    user = build_user(f"{role}-staff", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def test_finance_uploads_a_customers_pain001_file_in_the_admin(erp_api, no_vendor_approval):
    sync_vendor(erp_api)
    data = pain001("pain.001.001.03", [{"endtoend_id": "ADM-1"}, {"endtoend_id": "ADM-2",
                                                                   "amount": 99900}])  # fmt: skip
    alice_profile = Vendor.objects.get().profile
    url = "/admin/payments/paymentbatch/upload/"

    support = staff_client("support")
    assert b"Upload a pain.001 file" not in support.get("/admin/payments/paymentbatch/").content
    assert support.get(url).status_code == 403
    form = {"profile": alice_profile.pk, "source_currency": "GBP"}
    assert support.post(url, {**form, "file": _file(data)}).status_code == 403
    assert not PaymentBatch.objects.exists()

    finance = staff_client("finance")
    assert b"Upload a pain.001 file" in finance.get("/admin/payments/paymentbatch/").content
    # A file refused whole says why on the form; nothing is created.
    broken = finance.post(url, {**form, "file": _file(b"<Document><unclosed>")})
    assert broken.status_code == 200
    assert b"nothing was created" in broken.content
    assert not PaymentBatch.objects.exists()

    taken = finance.post(url, {**form, "file": _file(data)})
    batch = PaymentBatch.objects.get()
    assert taken.status_code == 302
    assert taken["Location"] == f"/admin/payments/paymentbatch/{batch.pk}/change/"
    assert batch.request_count == 2
    requests = PaymentRequest.objects.filter(batch=batch)
    assert {r.erp_payment_id for r in requests} == {"ADM-1", "ADM-2"}
    assert {r.state for r in requests} == {"transfer_created"}
    audited = AuditEvent.objects.filter(actor_label__contains="finance-staff")
    assert audited.exists()  # the operator, not the customer, is on record
    # The same file again is the same batch.
    again = finance.post(url, {**form, "file": _file(data)}, follow=True)
    assert b"already taken" in again.content
    assert PaymentBatch.objects.count() == 1


def _file(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("payments.xml", data, content_type="application/xml")
