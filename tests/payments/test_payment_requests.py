"""Payment requests: intake, validation with every reason, holds, the pipeline to a funded
transfer, and the later states following the transfer's own events."""

from __future__ import annotations

import pytest

from fintech.core.models import OutboxEvent
from fintech.core.services import Actor
from fintech.payments.models import PaymentBatch, PaymentRequest, PaymentRequestTransition
from fintech.payments.screening import screening_register, screening_unregister
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_complete, transfer_fail, transfer_submit
from tests.api.conftest import api_for, issue_client
from tests.builders import build_beneficiary
from tests.payments.conftest import (
    ERP_SCOPES,
    body,
    dispatch_pending,
    events_of,
    request_body,
    sync_vendor,
)

pytestmark = pytest.mark.django_db
PARTNER = Actor.system("test-partner")


@pytest.fixture
def vendor(erp_api, no_vendor_approval):
    return sync_vendor(erp_api)["vendor"]


def test_a_request_below_the_threshold_is_quoted_and_its_transfer_created_and_funded(
    erp_api, vendor
):
    response = erp_api.post("/payment-requests", request_body(erp_payment_id="PAY-1"))
    assert response.status_code == 201, response.content
    created = body(response)
    assert created["state"] == "transfer_created"
    assert created["erp_payment_id"] == "PAY-1"
    assert created["erp_vendor_id"] == "V-1001"
    assert created["target_amount"] == "1250.00"
    assert created["rate"] is not None and created["fee"] is not None  # noqa: PT018
    assert created["value_date"] is not None
    transfer = Transfer.objects.get(pk=created["transfer_id"])
    assert created["accounting_reference"] == transfer.reference
    assert transfer.state == "funded"  # from alice's GBP wallet
    assert events_of(created["id"]) == [
        "payment_request.received",
        "payment_request.validated",
        "payment_request.quoted",
        "payment_request.transfer_created",
    ]
    # The transfer's own events move the request on (the handler runs at dispatch).
    dispatch_pending()
    request = PaymentRequest.objects.get(pk=created["id"])
    assert request.state == "funded"
    transfer_submit(actor=PARTNER, transfer_id=transfer.pk)
    transfer_complete(actor=PARTNER, transfer_id=transfer.pk)
    dispatch_pending()
    request.refresh_from_db()
    assert request.state == "completed"
    completed = OutboxEvent.objects.get(type="payment_request.completed")
    assert completed.payload["erp_payment_id"] == "PAY-1"
    assert completed.payload["transfer_id"] == transfer.pk
    assert completed.payload["erp_approval_ref"] == "APR-77"
    # Every step is on the request's timeline, with who moved it.
    steps = list(
        PaymentRequestTransition.objects.filter(payment_request=request).values_list(
            "target_state", flat=True
        )
    )
    assert steps == [
        "received", "validated", "quoted", "transfer_created", "funded", "processing",
        "completed",
    ]  # fmt: skip
    # A replayed event changes nothing.
    event = OutboxEvent.objects.filter(type="transfer.completed").get()
    OutboxEvent.objects.filter(pk=event.pk).update(status="pending")
    dispatch_pending()
    assert PaymentRequestTransition.objects.filter(payment_request=request).count() == 7


def test_a_failed_payout_fails_the_request_with_the_reason(erp_api, vendor):
    created = body(erp_api.post("/payment-requests", request_body()))
    dispatch_pending()
    transfer_submit(actor=PARTNER, transfer_id=created["transfer_id"])
    transfer_fail(actor=PARTNER, transfer_id=created["transfer_id"], reason="account closed")
    dispatch_pending()
    request = PaymentRequest.objects.get(pk=created["id"])
    assert request.state == "failed"
    assert "transfer.failed" in request.failure_reason


def test_every_reason_is_reported_at_once_and_nothing_is_created(erp_api, vendor):
    response = erp_api.post(
        "/payment-requests",
        request_body(vendor_id="V-NOPE", amount="0", source_currency="EUR", due_date="2031-01-01"),
    )
    assert response.status_code == 422, response.content
    problem = body(response)
    assert problem["code"] == "payment_request_invalid"
    codes = {(e["field"], e["code"]) for e in problem["errors"]}
    assert ("vendor_id", "unknown_vendor") in codes
    assert ("amount", "amount_not_positive") in codes
    assert ("due_date", "due_date_out_of_range") in codes
    assert not PaymentRequest.objects.exists()
    assert not OutboxEvent.objects.filter(type__startswith="payment_request.").exists()


def test_currency_and_payee_rules(erp_api, vendor, alice, bob):
    bobs_beneficiary = build_beneficiary(profile=bob, currency="EUR")
    cases = {
        "another customer's beneficiary": (
            request_body(vendor_id=None, beneficiary_id=bobs_beneficiary.pk),
            ("beneficiary_id", "unknown_beneficiary"),
        ),
        "paid in its own currency": (
            request_body(source_currency="EUR"),
            ("source_currency", "currency_pair_unsupported"),
        ),
        "amount in the wrong currency": (
            request_body(currency="GBP"),
            ("currency", "currency_mismatch"),
        ),
        "too many decimals": (request_body(amount="10.001"), ("amount", "too_many_decimals")),
        "both payees": (
            request_body(beneficiary_id=bobs_beneficiary.pk),
            ("vendor_id", "exactly_one_payee"),
        ),
    }
    for name, (data, expected) in cases.items():
        response = erp_api.post("/payment-requests", data)
        assert response.status_code == 422, (name, response.content)
        assert expected in {(e["field"], e["code"]) for e in body(response)["errors"]}, name
    assert not PaymentRequest.objects.exists()


def test_an_unverified_business_cannot_send_requests(client, bob):
    api = api_for(client, issue_client(bob, ERP_SCOPES))
    response = api.post("/payment-requests", request_body(vendor_id="V-1"))
    assert response.status_code == 422
    assert ("profile", "profile_not_verified") in {
        (e["field"], e["code"]) for e in body(response)["errors"]
    }


def test_a_duplicate_is_held_for_review_not_paid_twice(erp_api, vendor):
    first = body(erp_api.post("/payment-requests", request_body(bill_reference="BILL-9")))
    second = erp_api.post(
        "/payment-requests", request_body(bill_reference="BILL-9", erp_payment_id="PAY-2")
    )
    assert second.status_code == 201, second.content
    held = body(second)
    assert held["state"] == "held"
    assert held["transfer_id"] is None
    assert held["reasons"][0]["code"] == "possible_duplicate"
    assert PaymentRequest.objects.get(pk=held["id"]).duplicate_of_id == first["id"]
    assert Transfer.objects.count() == 1


def test_the_same_erp_payment_id_twice_is_refused(erp_api, vendor):
    erp_api.post("/payment-requests", request_body(erp_payment_id="PAY-X"))
    again = erp_api.post("/payment-requests", request_body(erp_payment_id="PAY-X"))
    assert again.status_code == 422
    assert body(again)["errors"][0]["code"] == "duplicate_erp_payment_id"


def test_a_screening_trip_holds_the_request_with_the_suspicious_activity_flag(erp_api, vendor):
    def large_round_amounts(subject):
        return ["round amount"] if subject.amount_minor % 100_000 == 0 else []

    screening_register("round-amounts", large_round_amounts)
    try:
        response = erp_api.post("/payment-requests", request_body(amount="5000.00"))
    finally:
        screening_unregister("round-amounts")
    held = body(response)
    assert held["state"] == "held"
    assert held["suspicious_activity"] is True
    assert held["reasons"][0]["code"] == "screening_hit"
    assert not Transfer.objects.exists()


def test_a_batch_is_all_or_nothing_with_each_items_reasons(erp_api, vendor):
    items = [request_body(erp_payment_id=f"B-{i}") for i in range(3)]
    items[1]["vendor_id"] = "V-UNKNOWN"
    items[2]["amount"] = "-5"
    response = erp_api.post(
        "/payment-request-batches", {"erp_batch_id": "RUN-1", "requests": items}
    )
    assert response.status_code in (400, 422), response.content
    assert not PaymentBatch.objects.exists()
    assert not PaymentRequest.objects.exists()

    items = [request_body(erp_payment_id=f"B-{i}") for i in range(3)]
    items[1]["vendor_id"] = "V-UNKNOWN"
    response = erp_api.post(
        "/payment-request-batches", {"erp_batch_id": "RUN-1", "requests": items}
    )
    assert response.status_code == 422
    assert {(e["field"], e["code"]) for e in body(response)["errors"]} == {
        ("requests[1].vendor_id", "unknown_vendor")
    }

    items = [request_body(erp_payment_id=f"B-{i}") for i in range(3)]
    response = erp_api.post(
        "/payment-request-batches", {"erp_batch_id": "RUN-1", "requests": items}
    )
    assert response.status_code == 201, response.content
    batch = body(response)
    assert batch["request_count"] == 3
    assert batch["states"] == {"transfer_created": 3}
    fetched = erp_api.get(f"/payment-request-batches/{batch['id']}")
    assert body(fetched)["erp_batch_id"] == "RUN-1"


def test_a_vendor_on_a_sanctions_list_is_held_and_its_request_cancelled_naming_the_hold(
    erp_api, no_vendor_approval
):
    """ERP vendors are screened as the beneficiaries they become: a listed vendor's payment
    request reaches no transfer; its reasons say the beneficiary is held, never why."""
    from fintech.compliance.models import Case, ScreeningHit
    from tests.compliance.sanctions import OPENSANCTIONS, load

    load("opensanctions", OPENSANCTIONS)
    listed = sync_vendor(
        erp_api,
        erp_vendor_id="V-666",
        name="Golden Crescent Exports",
        holder_name="Golden Crescent Exports Ltd",
    )["vendor"]
    hit = ScreeningHit.objects.get(subject_type="beneficiary")
    assert hit.matched_name == "Golden Crescent Exports Ltd"
    assert Case.objects.filter(profile_id=hit.profile_id).exists()

    response = erp_api.post("/payment-requests", request_body(vendor_id=listed["erp_vendor_id"]))
    assert response.status_code == 201, response.content
    request = body(response)
    assert request["transfer_id"] is None
    assert request["state"] in ("rejected", "cancelled")
    assert [r["code"] for r in request["reasons"]] == ["screening_hold"]
    assert "Golden Crescent" not in str(request["reasons"])  # held, never why
    assert not Transfer.objects.exists()
