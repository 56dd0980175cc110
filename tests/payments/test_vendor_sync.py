"""Vendors: an ERP's suppliers synced into beneficiaries keyed by (profile, ERP vendor id)."""

from __future__ import annotations

import pytest

from fintech.beneficiaries.models import Beneficiary
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.payments.models import Vendor
from tests.api.conftest import api_for, issue_client
from tests.payments.conftest import ERP_SCOPES, EUR_VENDOR, OTHER_IBAN, body, sync_vendor

pytestmark = pytest.mark.django_db


def test_a_new_vendor_becomes_a_masked_beneficiary_flagged_for_approval(erp_api, alice):
    result = sync_vendor(erp_api)
    assert result["outcome"] == "created"
    vendor = result["vendor"]
    assert vendor["erp_vendor_id"] == "V-1001"
    assert vendor["account"] == "IBAN ****3000"
    assert vendor["needs_approval"] is True
    beneficiary = Beneficiary.objects.get(pk=vendor["beneficiary_id"])
    assert beneficiary.profile_id == alice.pk
    assert beneficiary.is_active
    assert OutboxEvent.objects.filter(type="vendor.created").count() == 1


def test_the_same_vendor_again_changes_nothing_and_a_new_name_only_renames(erp_api):
    first = sync_vendor(erp_api)["vendor"]
    again = sync_vendor(erp_api)
    assert again["outcome"] == "unchanged"
    renamed = sync_vendor(erp_api, name="Lieferant GmbH & Co. KG")
    assert renamed["outcome"] == "renamed"
    assert renamed["vendor"]["beneficiary_id"] == first["beneficiary_id"]
    assert Vendor.objects.count() == 1


def test_a_bank_detail_change_makes_a_new_beneficiary_audited_masked_and_flagged(erp_api, alice):
    first = sync_vendor(erp_api)["vendor"]
    Vendor.objects.filter(pk=first["id"]).update(needs_approval=False)  # approved earlier
    changed = sync_vendor(erp_api, details=OTHER_IBAN)
    assert changed["outcome"] == "updated"
    vendor = changed["vendor"]
    assert vendor["beneficiary_id"] != first["beneficiary_id"]
    assert vendor["account"] == "IBAN ****3001"
    assert vendor["needs_approval"] is True
    assert vendor["bank_details_changed_at"] is not None
    assert not Beneficiary.objects.get(pk=first["beneficiary_id"]).is_active
    audit = AuditEvent.objects.get(action="vendor.bank_details_changed")
    assert audit.data["previous_account"] == "IBAN ****3000"
    assert audit.data["account"] == "IBAN ****3001"
    # Never the details themselves, in the audit row or the event.
    assert "0532013001" not in str(audit.data)
    event = OutboxEvent.objects.get(type="vendor.bank_details_changed")
    assert "0532013001" not in str(event.payload)


def test_a_bad_iban_is_refused_naming_the_field_and_nothing_is_saved(erp_api):
    bad = {"iban": "DE89370400440532013001", "bic": "COBADEFFXXX"}
    response = erp_api.post("/vendors", {**EUR_VENDOR, "details": bad})
    assert response.status_code == 400, response.content
    assert ("details.iban", "invalid_checksum") in {
        (e["field"], e["code"]) for e in body(response)["errors"]
    }
    assert not Vendor.objects.exists()
    assert not Beneficiary.objects.exists()


def test_a_bad_bank_detail_change_keeps_the_old_account(erp_api):
    first = sync_vendor(erp_api)["vendor"]
    response = erp_api.post(
        "/vendors", {**EUR_VENDOR, "details": {"iban": "DE00", "bic": "COBADEFFXXX"}}
    )
    assert response.status_code == 400
    vendor = Vendor.objects.get()
    assert vendor.beneficiary_id == first["beneficiary_id"]
    assert vendor.beneficiary.is_active


def test_deactivate_stops_the_vendor_and_its_beneficiary(erp_api):
    first = sync_vendor(erp_api)["vendor"]
    response = erp_api.post("/vendors/V-1001/deactivate", {"reason": "supplier closed"})
    assert response.status_code == 200, response.content
    assert body(response)["is_active"] is False
    assert not Beneficiary.objects.get(pk=first["beneficiary_id"]).is_active
    again = erp_api.post("/vendors/V-1001/deactivate", {})
    assert again.status_code == 409


def test_bulk_sync_is_all_or_nothing_with_every_reason(erp_api):
    good = {**EUR_VENDOR, "erp_vendor_id": "V-1"}
    bad_iban = {**EUR_VENDOR, "erp_vendor_id": "V-2", "details": {"iban": "DE00", "bic": "X"}}
    bad_currency = {**EUR_VENDOR, "erp_vendor_id": "V-3", "currency": "USD"}
    response = erp_api.post("/vendors/bulk", {"vendors": [good, bad_iban, bad_currency]})
    assert response.status_code == 422, response.content
    fields = {e["field"] for e in body(response)["errors"]}
    assert {"vendors[1].details.iban", "vendors[1].details.bic"} <= fields
    assert any(f.startswith("vendors[2].") for f in fields)
    assert not Vendor.objects.exists()
    assert not Beneficiary.objects.exists()

    response = erp_api.post(
        "/vendors/bulk",
        {"vendors": [good, {**EUR_VENDOR, "erp_vendor_id": "V-2", "details": OTHER_IBAN}]},
    )
    assert response.status_code == 200, response.content
    assert [r["outcome"] for r in body(response)["results"]] == ["created", "created"]


def test_vendors_need_their_scope_and_stay_within_the_business(client, alice, bob, erp_api):
    sync_vendor(erp_api)
    no_scope = api_for(client, issue_client(alice, ["transfers:read"]))
    assert no_scope.post("/vendors", EUR_VENDOR).status_code == 403
    bobs = api_for(client, issue_client(bob, ERP_SCOPES))
    assert bobs.get("/vendors/V-1001").status_code == 404
