"""Vendors: an ERP's suppliers synced into beneficiaries, keyed by (profile, ERP vendor id).

- New vendor: a beneficiary is created (validated per scheme, encrypted, masked) and the
  vendor needs approval before its first payment when the profile's policy says so.
- Update: a name-only change is recorded on the vendor. A bank-detail change (holder,
  currency, country, scheme or any detail) is validated like a new beneficiary, makes a new
  one, deactivates the old one, is audited with both masked forms (never the details) and
  flags the vendor for re-approval before the next payment.
- Deactivate: the vendor and its beneficiary stop being paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pghistory
from django.utils import timezone

from fintech.beneficiaries.models import Beneficiary
from fintech.beneficiaries.selectors import beneficiary_bank_details
from fintech.beneficiaries.services import beneficiary_create, beneficiary_deactivate
from fintech.beneficiaries.validators import beneficiary_input_clean
from fintech.core.errors import FieldError, NotFound, TransitionNotAllowed, ValidationFailed
from fintech.core.services import Actor, audit_record, event_emit
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile
from fintech.payments.models import Vendor
from fintech.payments.selectors import approval_policy_for

ERP_VENDOR_ID_MAX = 100


@dataclass(frozen=True, slots=True)
class VendorResult:
    vendor: Vendor
    # "created", "updated" (bank details changed), "renamed", "unchanged"
    outcome: str


def vendor_payload(vendor: Vendor) -> dict[str, Any]:
    # Minimal, like beneficiary events: never the bank details, not even masked.
    return {
        "vendor_id": vendor.pk,
        "erp_vendor_id": vendor.erp_vendor_id,
        "beneficiary_id": vendor.beneficiary_id,
        "is_active": vendor.is_active,
        "needs_approval": vendor.needs_approval,
    }


def _erp_vendor_id(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > ERP_VENDOR_ID_MAX:
        raise ValidationFailed(
            [
                FieldError(
                    "erp_vendor_id",
                    "invalid",
                    f"must be a non-empty string of at most {ERP_VENDOR_ID_MAX} characters",
                )
            ]
        )
    return text


def _same_account(beneficiary: Beneficiary, cleaned: Any) -> bool:
    if (
        beneficiary.holder_name,
        beneficiary.currency,
        beneficiary.country,
        beneficiary.scheme,
    ) != (cleaned.holder_name, cleaned.currency, cleaned.country, cleaned.scheme):
        return False
    return beneficiary_bank_details(beneficiary=beneficiary) == cleaned.details


@service_transaction
def vendor_upsert(
    *,
    actor: Actor,
    profile: Profile,
    erp_vendor_id: str,
    name: str,
    holder_name: str,
    currency: str,
    country: str,
    scheme: str,
    details: dict[str, str],
) -> VendorResult:
    """Create or update the vendor `erp_vendor_id` of `profile` (see the module docstring).
    Every bad field is reported at once; nothing is saved then."""
    errors: list[FieldError] = []
    try:
        erp_id = _erp_vendor_id(erp_vendor_id)
    except ValidationFailed as exc:
        errors.extend(exc.fields)
        erp_id = ""
    display = name.strip() if isinstance(name, str) else ""
    if not display or len(display) > 140:
        errors.append(FieldError("name", "invalid", "must be 1 to 140 characters"))
    try:
        cleaned = beneficiary_input_clean(
            holder_name=holder_name, currency=currency, country=country, scheme=scheme,
            details=details,
        )  # fmt: skip
    except ValidationFailed as exc:
        errors.extend(exc.fields)
    if errors:
        raise ValidationFailed(errors)

    # Why the lock: the ERP's bulk sync and a retry of it may update one vendor at once; the
    # second waits, then compares against the first's beneficiary and finds nothing to do.
    vendor = (
        Vendor.objects.select_for_update()
        .select_related("beneficiary")
        .filter(profile=profile, erp_vendor_id=erp_id)
        .first()
    )
    policy = approval_policy_for(profile=profile)
    bank: dict[str, Any] = {
        "holder_name": cleaned.holder_name,
        "currency": cleaned.currency,
        "country": cleaned.country,
        "scheme": cleaned.scheme,
        "details": cleaned.details,
    }
    if vendor is None:
        beneficiary = beneficiary_create(actor=actor, profile=profile, **bank)
        with pghistory.context(actor=actor.label, request_id=actor.request_id):
            vendor = Vendor.objects.create(
                profile=profile,
                erp_vendor_id=erp_id,
                name=display,
                beneficiary=beneficiary,
                needs_approval=policy.approve_new_or_changed_vendors,
                approval_reason="new_vendor" if policy.approve_new_or_changed_vendors else "",
            )
        audit_record(
            actor=actor, action="vendor.created", target=vendor, data=vendor_payload(vendor)
        )
        event_emit(type="vendor.created", profile_id=profile.pk, payload=vendor_payload(vendor))
        return VendorResult(vendor, "created")

    if not vendor.is_active:
        raise TransitionNotAllowed(
            f"vendor {erp_id} is deactivated; a deactivated vendor is not updated",
            fields=[FieldError("erp_vendor_id", "vendor_inactive", "the vendor is deactivated")],
        )
    old = vendor.beneficiary
    if _same_account(old, cleaned):
        if vendor.name == display:
            return VendorResult(vendor, "unchanged")
        with pghistory.context(actor=actor.label, request_id=actor.request_id):
            vendor.name = display
            vendor.save(update_fields=["name", "updated_at"])
        audit_record(actor=actor, action="vendor.renamed", target=vendor, data={"name": display})
        return VendorResult(vendor, "renamed")

    # Bank details changed: a new beneficiary (validated above), the old one deactivated.
    new = beneficiary_create(actor=actor, profile=profile, **bank)
    beneficiary_deactivate(
        actor=actor, beneficiary=old.pk, reason=f"bank details of ERP vendor {erp_id} changed"
    )
    now = timezone.now()
    with pghistory.context(actor=actor.label, request_id=actor.request_id):
        vendor.name = display
        vendor.beneficiary = new
        vendor.needs_approval = policy.approve_new_or_changed_vendors
        vendor.approval_reason = "vendor_changed" if vendor.needs_approval else ""
        vendor.bank_details_changed_at = now
        vendor.approved_at = None
        vendor.approved_by_label = ""
        vendor.save()
    audit_record(
        actor=actor,
        action="vendor.bank_details_changed",
        target=vendor,
        data={
            **vendor_payload(vendor),
            "previous_beneficiary_id": old.pk,
            "previous_account": old.masked_details,
            "account": new.masked_details,
        },
    )
    event_emit(
        type="vendor.bank_details_changed", profile_id=profile.pk, payload=vendor_payload(vendor)
    )
    return VendorResult(vendor, "updated")


@service_transaction
def vendor_deactivate(
    *, actor: Actor, profile: Profile, erp_vendor_id: str, reason: str = ""
) -> Vendor:
    vendor = (
        Vendor.objects.select_for_update()
        .filter(profile=profile, erp_vendor_id=str(erp_vendor_id))
        .first()
    )
    if vendor is None:
        raise NotFound(
            f"vendor {erp_vendor_id} not found",
            fields=[FieldError("erp_vendor_id", "unknown_vendor", "no such vendor")],
        )
    if not vendor.is_active:
        raise TransitionNotAllowed(f"vendor {vendor.erp_vendor_id} is already deactivated")
    beneficiary_deactivate(
        actor=actor, beneficiary=vendor.beneficiary_id, reason=reason or "ERP vendor deactivated"
    )
    with pghistory.context(actor=actor.label, reason=reason, request_id=actor.request_id):
        vendor.is_active = False
        vendor.deactivated_at = timezone.now()
        vendor.save(update_fields=["is_active", "deactivated_at", "updated_at"])
    audit_record(actor=actor, action="vendor.deactivated", target=vendor, reason=reason)
    event_emit(type="vendor.deactivated", profile_id=profile.pk, payload=vendor_payload(vendor))
    return vendor


def vendor_mark_approved(*, actor: Actor, vendor: Vendor) -> None:
    """The vendor's current bank details were approved (with a payment to them): later
    payments no longer need approval for this reason. Runs inside the approval's transaction."""
    if not vendor.needs_approval:
        return
    with pghistory.context(actor=actor.label, request_id=actor.request_id):
        vendor.needs_approval = False
        vendor.approval_reason = ""
        vendor.approved_at = timezone.now()
        vendor.approved_by_label = actor.label
        vendor.save(
            update_fields=[
                "needs_approval", "approval_reason", "approved_at", "approved_by_label",
                "updated_at",
            ]
        )  # fmt: skip
    audit_record(actor=actor, action="vendor.approved", target=vendor, data=vendor_payload(vendor))
