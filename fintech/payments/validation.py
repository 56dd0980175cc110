"""Validation of ERP payment requests before any money moves: every reason at once.

`request_check` returns the field errors of one request (empty: valid) and what it resolved
(beneficiary, vendor, amount in minor units). Field names are the API's (`vendor_id`,
`amount`, `due_date`, ...); a batch prefixes them with `requests[i].`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from fintech.beneficiaries.models import Beneficiary
from fintech.compliance.models import ComplianceStatus
from fintech.core.errors import FieldError, ValidationFailed
from fintech.core.money import parse_amount, validate_currency
from fintech.customers.models import Profile
from fintech.payments.models import ApprovalPolicy, PaymentRequest, Vendor
from fintech.quotes.rates import get_rate_provider

TEXT_FIELDS = {
    "erp_payment_id": 100,
    "erp_approval_ref": 100,
    "erp_approver": 140,
    "bill_reference": 140,
    "remittance_reference": 140,
}


class PaymentRequestInvalid(ValidationFailed):
    """Well-formed, but refused by the rules (422): every reason, each naming its field."""

    code = "payment_request_invalid"
    status = 422
    title = "The payment request cannot be accepted"


@dataclass(frozen=True, slots=True)
class PaymentRequestInput:
    erp_payment_id: str
    amount: str
    currency: str
    due_date: dt.date
    source_currency: str
    amount_side: str = PaymentRequest.AmountSide.TARGET
    vendor_id: str | None = None
    beneficiary_id: int | None = None
    erp_approval_ref: str = ""
    erp_approver: str = ""
    erp_approved_at: dt.datetime | None = None
    bill_reference: str = ""
    remittance_reference: str = ""
    file_pmt_inf_id: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PaymentRequestInput:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class Checked:
    errors: list[FieldError] = field(default_factory=list)
    vendor: Vendor | None = None
    beneficiary: Beneficiary | None = None
    amount_minor: int = 0
    target_currency: str = ""


def _profile_errors(profile: Profile) -> list[FieldError]:
    state, review = ComplianceStatus.objects.filter(profile=profile).values_list(
        "state", "review_required"
    ).first() or (None, False)
    if state != ComplianceStatus.State.VERIFIED or review:
        return [
            FieldError(
                "profile",
                "profile_not_verified",
                f"the business must be verified to pay (compliance is {state or 'unverified'}"
                + (", under review)" if review else ")"),
            )
        ]
    return []


@dataclass
class Lookups:
    """What checking a batch reads, read once for all its items (a batch of 2,000 would
    otherwise cost several queries per item): the business's compliance, and the vendors and
    beneficiaries the items name."""

    profile_errors: list[FieldError]
    vendors: dict[str, Vendor]
    beneficiaries: dict[int, Beneficiary]
    vendor_of_beneficiary: dict[int, Vendor]

    @classmethod
    def load(cls, *, profile: Profile, items: list[PaymentRequestInput]) -> Lookups:
        vendor_ids = {d.vendor_id for d in items if d.vendor_id is not None}
        beneficiary_ids = {int(d.beneficiary_id) for d in items if d.beneficiary_id is not None}
        vendors = {
            v.erp_vendor_id: v
            for v in Vendor.objects.select_related("beneficiary")
            .defer("beneficiary__bank_details")
            .filter(profile=profile, erp_vendor_id__in=vendor_ids)
        }
        # Another customer's beneficiary is as unknown as a made-up id.
        beneficiaries = {
            b.pk: b
            for b in Beneficiary.objects.filter(profile=profile, pk__in=beneficiary_ids).defer(
                "bank_details"
            )
        }
        by_beneficiary = {
            v.beneficiary_id: v
            for v in Vendor.objects.filter(profile=profile, beneficiary_id__in=beneficiary_ids)
        }
        return cls(_profile_errors(profile), vendors, beneficiaries, by_beneficiary)


def _resolve_payee(data: PaymentRequestInput, checked: Checked, lookups: Lookups) -> None:
    if (data.vendor_id is None) == (data.beneficiary_id is None):
        message = "give exactly one of vendor_id (your ERP's id) and beneficiary_id"
        checked.errors.append(FieldError("vendor_id", "exactly_one_payee", message))
        return
    if data.vendor_id is not None:
        vendor = lookups.vendors.get(data.vendor_id)
        if vendor is None:
            checked.errors.append(
                FieldError("vendor_id", "unknown_vendor", f"no vendor {data.vendor_id!r}")
            )
            return
        if not vendor.is_active:
            checked.errors.append(
                FieldError("vendor_id", "vendor_inactive", "the vendor is deactivated")
            )
            return
        checked.vendor, checked.beneficiary = vendor, vendor.beneficiary
        return
    beneficiary = lookups.beneficiaries.get(int(data.beneficiary_id or 0))
    if beneficiary is None:
        checked.errors.append(
            FieldError("beneficiary_id", "unknown_beneficiary", "no such beneficiary")
        )
        return
    checked.beneficiary = beneficiary
    checked.vendor = lookups.vendor_of_beneficiary.get(beneficiary.pk)


def _currency_errors(data: PaymentRequestInput, checked: Checked) -> list[FieldError]:
    errors: list[FieldError] = []
    source = currency = None
    try:
        source = validate_currency(data.source_currency, field="source_currency")
    except ValidationFailed as exc:
        errors.extend(exc.fields)
    try:
        currency = validate_currency(data.currency, field="currency")
    except ValidationFailed as exc:
        errors.extend(exc.fields)
    beneficiary = checked.beneficiary
    if beneficiary is not None:
        checked.target_currency = beneficiary.currency
        payee = "vendor_id" if data.vendor_id is not None else "beneficiary_id"
        if not beneficiary.is_active:
            errors.append(FieldError(payee, "beneficiary_inactive", "the beneficiary is inactive"))
        expected = beneficiary.currency if data.amount_side == "target" else source
        if currency and expected and currency != expected:
            errors.append(
                FieldError(
                    "currency",
                    "currency_mismatch",
                    f"a {data.amount_side}-fixed amount must be in {expected}",
                )
            )
        if source and source == beneficiary.currency:
            errors.append(
                FieldError(
                    "source_currency",
                    "currency_pair_unsupported",
                    f"the vendor is paid in {source}; pay from another currency",
                )
            )
        elif source:
            try:
                get_rate_provider().mid_rate(source, beneficiary.currency)
            except LookupError:
                errors.append(
                    FieldError(
                        "source_currency",
                        "currency_pair_unsupported",
                        f"no route from {source} to {beneficiary.currency}",
                    )
                )
    if currency:
        try:
            checked.amount_minor = parse_amount(data.amount, currency=currency, field="amount")
        except ValidationFailed as exc:
            errors.extend(exc.fields)
    return errors


def _limit_errors(
    data: PaymentRequestInput, checked: Checked, policy: ApprovalPolicy
) -> list[FieldError]:
    limits: dict[str, int] = {**settings.ERP_MAX_AMOUNT_MINOR, **(policy.max_amount_minor or {})}
    limit = limits.get(data.currency)
    if checked.amount_minor and limit is not None and checked.amount_minor > int(limit):
        return [
            FieldError("amount", "amount_above_limit", "above this business's limit per payment")
        ]
    return []


def _due_date_errors(data: PaymentRequestInput) -> list[FieldError]:
    today = timezone.localdate()
    earliest = today - dt.timedelta(days=settings.ERP_DUE_DATE_MAX_PAST_DAYS)
    latest = today + dt.timedelta(days=settings.ERP_DUE_DATE_MAX_FUTURE_DAYS)
    if not earliest <= data.due_date <= latest:
        return [
            FieldError(
                "due_date",
                "due_date_out_of_range",
                f"must be between {earliest.isoformat()} and {latest.isoformat()}",
            )
        ]
    return []


def _text_errors(data: PaymentRequestInput) -> list[FieldError]:
    errors = []
    for name, limit in TEXT_FIELDS.items():
        value = getattr(data, name)
        if not isinstance(value, str) or len(value) > limit or "\x00" in value:
            errors.append(
                FieldError(name, "invalid", f"must be text of at most {limit} characters")
            )
    if not data.erp_payment_id.strip():
        errors.append(FieldError("erp_payment_id", "required", "must not be blank"))
    return errors


def request_check(
    *,
    profile: Profile,
    data: PaymentRequestInput,
    policy: ApprovalPolicy,
    lookups: Lookups | None = None,
) -> Checked:
    lookups = lookups or Lookups.load(profile=profile, items=[data])
    checked = Checked()
    checked.errors.extend(_text_errors(data))
    checked.errors.extend(lookups.profile_errors)
    _resolve_payee(data, checked, lookups)
    checked.errors.extend(_currency_errors(data, checked))
    checked.errors.extend(_limit_errors(data, checked, policy))
    checked.errors.extend(_due_date_errors(data))
    return checked


def duplicate_of(
    *, profile: Profile, vendor: Vendor | None, beneficiary: Beneficiary, amount_minor: int,
    currency: str, bill_reference: str, exclude_id: int | None = None,
) -> PaymentRequest | None:  # fmt: skip
    """An earlier live request for the same vendor account, amount and bill reference within
    settings.ERP_DUPLICATE_WINDOW_DAYS: this one is then held, not paid twice."""
    since = timezone.now() - dt.timedelta(days=settings.ERP_DUPLICATE_WINDOW_DAYS)
    dead = [
        PaymentRequest.State.REJECTED,
        PaymentRequest.State.CANCELLED,
        PaymentRequest.State.EXPIRED,
        PaymentRequest.State.FAILED,
    ]
    qs = (
        PaymentRequest.objects.filter(
            profile=profile,
            amount_minor=amount_minor,
            currency=currency,
            bill_reference=bill_reference,
            created_at__gte=since,
        )
        .exclude(state__in=dead)
        .exclude(pk=exclude_id)
    )
    # The same vendor even across a bank-detail change, or the same account.
    payee = Q(beneficiary=beneficiary)
    if vendor is not None:
        payee |= Q(vendor=vendor)
    same_payee = qs.filter(payee)
    return same_payee.order_by("created_at", "id").first()
