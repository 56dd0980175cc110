"""Everything we hold about a business profile, read-only, as the CRM mapping's input.

On purpose the records carry every field (addresses, registration numbers, bank details of
beneficiaries, amounts, free-text reasons): the mapping (hubspot/mapping.py) is the one place
that decides what leaves, through its allowlists, and its tests feed all of this through it.
Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from integrations.errors import PermanentError


@dataclass(frozen=True)
class MemberRecord:
    user_id: int
    username: str
    first_name: str
    last_name: str
    email: str
    role: str
    # Whatever else we may hold about a person (date of birth, document numbers, phone).
    other: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TransferRecord:
    transfer_id: int
    reference: str
    state: str
    source_currency: str
    source_amount_minor: int
    target_currency: str
    target_amount_minor: int
    fee_minor: int
    failure_reason: str
    customer_transaction_id: str
    beneficiary_name: str
    beneficiary_details: Mapping[str, Any]
    created_at: dt.datetime
    completed_at: dt.datetime | None = None
    failed_at: dt.datetime | None = None


@dataclass(frozen=True)
class ProfileRecord:
    profile_id: int
    kind: str
    legal_name: str
    registration_number: str
    country: str
    address_line1: str
    address_line2: str
    city: str
    postal_code: str
    email: str
    created_at: dt.datetime
    kyc_state: str  # unverified, pending, verified, rejected
    kyc_review_required: bool
    kyc_review_reason: str
    account_manager_email: str = ""
    account_manager_name: str = ""
    members: tuple[MemberRecord, ...] = ()
    transfers: tuple[TransferRecord, ...] = ()
    other: Mapping[str, Any] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return f"PRF-{self.profile_id}"


def _member(membership: Any) -> MemberRecord:
    user = membership.user
    return MemberRecord(
        user_id=user.pk,
        username=user.get_username(),
        first_name=user.first_name,
        last_name=user.last_name,
        email=user.email,
        role=membership.role,
    )


def _transfer(t: Any) -> TransferRecord:
    beneficiary = t.beneficiary
    return TransferRecord(
        transfer_id=t.pk,
        reference=t.reference,
        state=t.state,
        source_currency=t.source_currency,
        source_amount_minor=t.source_amount_minor,
        target_currency=t.target_currency,
        target_amount_minor=t.target_amount_minor,
        fee_minor=t.fee_minor,
        failure_reason=t.failure_reason,
        customer_transaction_id=t.customer_transaction_id,
        beneficiary_name=beneficiary.holder_name,
        beneficiary_details=dict(beneficiary.bank_details or {}),
        created_at=t.created_at,
        completed_at=t.completed_at,
        failed_at=t.failed_at,
    )


def profile_record(*, profile_id: int, window_days: int = 400) -> ProfileRecord:
    """The profile with its members and its transfers of the last `window_days` (the CRM's
    rules look back 90 days and at the current month; a year is plenty)."""
    from fintech.customers.models import Profile
    from fintech.transfers.models import Transfer

    profile = (
        Profile.objects.select_related("compliance")
        .prefetch_related("memberships__user")
        .filter(pk=profile_id)
        .first()
    )
    if profile is None:
        raise PermanentError(f"profile {profile_id} does not exist")
    since = timezone.now() - dt.timedelta(days=window_days)
    transfers = (
        Transfer.objects.select_related("beneficiary")
        .filter(profile_id=profile_id, created_at__gte=since)
        .order_by("created_at", "pk")
    )
    compliance = getattr(profile, "compliance", None)
    return ProfileRecord(
        profile_id=profile.pk,
        kind=profile.kind,
        legal_name=profile.legal_name,
        registration_number=profile.registration_number,
        country=profile.country,
        address_line1=profile.address_line1,
        address_line2=profile.address_line2,
        city=profile.city,
        postal_code=profile.postal_code,
        email=profile.email,
        created_at=profile.created_at,
        kyc_state=compliance.state if compliance else "unverified",
        kyc_review_required=bool(compliance and compliance.review_required),
        kyc_review_reason=compliance.review_reason if compliance else "",
        account_manager_email=getattr(profile, "account_manager_email", ""),
        account_manager_name=getattr(profile, "account_manager_name", ""),
        members=tuple(_member(m) for m in profile.memberships.all()),
        transfers=tuple(_transfer(t) for t in transfers),
    )
