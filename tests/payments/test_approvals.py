"""Approvals inside the platform: the customer's rules, a second person among its members,
the maker never approving, re-approval after a bank-detail change, and timeouts."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from fintech.payments.models import Approval, ApprovalFailure, PaymentRequest
from fintech.payments.services.approvals import payment_requests_expire_due
from fintech.transfers.models import Transfer
from tests.api.conftest import api_for, issue_client
from tests.payments.conftest import OTHER_IBAN, body, request_body, sync_vendor

pytestmark = pytest.mark.django_db


def test_a_new_vendor_waits_for_a_member_and_the_maker_cannot_approve(erp_api, carol_api, alice):
    sync_vendor(erp_api)  # a new vendor: alice's default rules want an approval
    response = carol_api.post("/payment-requests", request_body(erp_payment_id="PAY-C"))
    made = body(response)
    assert made["state"] == "awaiting_approval", made
    assert made["approval_reasons"] == ["new_vendor"]
    assert made["approval_due_at"] is not None
    assert not Transfer.objects.exists()

    refused = carol_api.post(f"/payment-requests/{made['id']}/approve", {}, key=None)
    assert refused.status_code == 403, refused.content
    assert body(refused)["errors"][0]["code"] == "maker_cannot_approve"
    assert PaymentRequest.objects.get(pk=made["id"]).state == "awaiting_approval"
    assert ApprovalFailure.objects.filter(reason="maker_cannot_approve").count() == 1


def test_a_second_member_approves_and_the_payment_goes_ahead(erp_api, carol_api):
    sync_vendor(erp_api)
    made = body(erp_api.post("/payment-requests", request_body()))
    assert made["state"] == "awaiting_approval"
    approved = carol_api.post(f"/payment-requests/{made['id']}/approve", {}, key=None)
    assert approved.status_code == 200, approved.content
    assert body(approved)["state"] == "transfer_created"
    approval = Approval.objects.get()
    assert "user:carol" in approval.approver_label
    # The vendor is approved with it: the next payment to it goes straight through.
    following = body(erp_api.post("/payment-requests", request_body()))
    assert following["state"] == "transfer_created"
    # Approving twice is a conflict, nothing done twice.
    again = carol_api.post(f"/payment-requests/{made['id']}/approve", {}, key=None)
    assert again.status_code == 409
    assert Transfer.objects.count() == 2


def test_a_changed_bank_detail_blocks_the_next_payment_until_re_approved(erp_api, carol_api):
    sync_vendor(erp_api)
    first = body(erp_api.post("/payment-requests", request_body()))
    carol_api.post(f"/payment-requests/{first['id']}/approve", {}, key=None)

    changed = sync_vendor(erp_api, details=OTHER_IBAN)
    assert changed["outcome"] == "updated"
    blocked = body(erp_api.post("/payment-requests", request_body()))
    assert blocked["state"] == "awaiting_approval"
    assert blocked["approval_reasons"] == ["vendor_changed"]
    assert blocked["beneficiary_id"] == changed["vendor"]["beneficiary_id"]
    assert Transfer.objects.count() == 1

    approved = carol_api.post(f"/payment-requests/{blocked['id']}/approve", {}, key=None)
    assert body(approved)["state"] == "transfer_created"
    assert (
        Transfer.objects.get(pk=body(approved)["transfer_id"]).beneficiary_id
        == (changed["vendor"]["beneficiary_id"])
    )


def test_above_the_threshold_needs_approval_even_with_the_erps_own(erp_api, no_vendor_approval):
    sync_vendor(erp_api)
    made = body(erp_api.post("/payment-requests", request_body(amount="10000.00")))
    assert made["state"] == "awaiting_approval"
    assert made["approval_reasons"] == ["above_threshold"]
    assert made["erp_approval_ref"] == "APR-77"  # recorded, not trusted alone


def test_approving_needs_its_own_scope_and_a_person(client, erp_api, alice, carol_api):
    sync_vendor(erp_api)
    made = body(erp_api.post("/payment-requests", request_body()))
    # The ERP's token has payments:request, which implies nothing else.
    assert erp_api.post(f"/payment-requests/{made['id']}/approve", {}).status_code == 403
    # An application alone (client credentials) is no second person.
    app_only = api_for(client, issue_client(alice, ["payments:approve"]))
    refused = app_only.post(f"/payment-requests/{made['id']}/approve", {}, key=None)
    assert refused.status_code == 403
    assert body(refused)["errors"][0]["code"] == "approver_not_a_person"


def test_a_member_rejects_with_a_reason(erp_api, carol_api):
    sync_vendor(erp_api)
    made = body(erp_api.post("/payment-requests", request_body()))
    rejected = carol_api.post(
        f"/payment-requests/{made['id']}/reject", {"reason": "wrong invoice"}, key=None
    )
    assert body(rejected)["state"] == "rejected"
    assert body(rejected)["reasons"][0]["message"] == "wrong invoice"
    assert ApprovalFailure.objects.filter(reason="rejected_by_approver").count() == 1


def test_unapproved_requests_expire_when_the_scan_finds_them_due(erp_api):
    sync_vendor(erp_api)
    made = body(erp_api.post("/payment-requests", request_body()))
    assert payment_requests_expire_due() == 0
    with time_machine.travel(timezone.now() + dt.timedelta(hours=73)):
        assert payment_requests_expire_due() == 1
        assert payment_requests_expire_due() == 0
    request = PaymentRequest.objects.get(pk=made["id"])
    assert request.state == "expired"
    assert ApprovalFailure.objects.filter(reason="approval_expired").count() == 1
