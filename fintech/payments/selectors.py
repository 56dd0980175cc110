"""Reads for ERP payments."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from fintech.core.errors import NotFound
from fintech.customers.models import Profile
from fintech.payments.models import (
    ApprovalPolicy,
    PaymentBatch,
    PaymentFileIntake,
    PaymentRequest,
    Vendor,
)


def approval_policy_for(*, profile: Profile | int) -> ApprovalPolicy:
    """The profile's policy, or the defaults (unsaved) when it has none."""
    profile_id = profile.pk if isinstance(profile, Profile) else profile
    policy = ApprovalPolicy.objects.filter(profile_id=profile_id).first()
    return policy or ApprovalPolicy(profile_id=profile_id)


def vendors_for_profile(*, profile: Profile, active_only: bool = False) -> QuerySet[Vendor]:
    qs = Vendor.objects.filter(profile=profile).select_related("beneficiary")
    return qs.filter(is_active=True) if active_only else qs


def vendor_get_for_profile(*, profile: Profile, erp_vendor_id: str) -> Vendor:
    vendor = vendors_for_profile(profile=profile).filter(erp_vendor_id=erp_vendor_id).first()
    if vendor is None:
        raise NotFound(f"vendor {erp_vendor_id} not found")
    return vendor


def payment_requests_for_profile(*, profile: Profile) -> QuerySet[PaymentRequest]:
    return PaymentRequest.objects.filter(profile=profile).select_related(
        "vendor", "batch", "quote", "transfer"
    )


def payment_request_get_for_profile(*, profile: Profile, request_id: str | int) -> PaymentRequest:
    try:
        return payment_requests_for_profile(profile=profile).get(pk=int(request_id))
    except (PaymentRequest.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(f"payment request {request_id} not found") from exc


def payment_batch_get_for_profile(*, profile: Profile, batch_id: str | int) -> PaymentBatch:
    try:
        return PaymentBatch.objects.filter(profile=profile).get(pk=int(batch_id))
    except (PaymentBatch.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(f"payment batch {batch_id} not found") from exc


def payment_batch_states(*, batch: PaymentBatch) -> dict[str, int]:
    """The batch's requests counted by state (one grouped query, whatever the batch's size)."""
    rows = batch.requests.order_by().values("state").annotate(n=Count("id"))
    return {row["state"]: row["n"] for row in rows}


def payment_file_progress(*, batch: PaymentBatch) -> dict[str, Any] | None:
    """A file's intake: its state and how many payments are taken, made requests or refused
    (None for a JSON batch)."""
    intake = (
        PaymentFileIntake.objects.filter(batch=batch)
        .values(
            "state",
            "payments_total",
            "payments_done",
            "requests_created",
            "payments_rejected",
            "chunks_done",
            "started_at",
            "finished_at",
        )
        .first()
    )
    return dict(intake) if intake is not None else None
