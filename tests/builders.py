"""Test data builders. They go through the services, so a test can never build a state that
production could not reach. Plain functions; keyword arguments override the defaults."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from fintech.beneficiaries.models import Beneficiary
from fintech.beneficiaries.services import beneficiary_create
from fintech.compliance.services import compliance_submit, compliance_verify
from fintech.core.services import Actor
from fintech.customers.models import Membership, Profile
from fintech.customers.services import membership_add, profile_create
from fintech.wallets.services import wallet_fund

_sequence = itertools.count(1)

BUILDER = Actor.system("test-builder")

# One valid set of bank details per currency, and the scheme and country they belong to.
VALID_BENEFICIARY_DETAILS: dict[str, tuple[str, str, dict[str, str]]] = {
    "GBP": ("gb_sort_code", "GB", {"sort_code": "40-47-84", "account_number": "70872490"}),
    "EUR": ("iban", "DE", {"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"}),
    "USD": (
        "us_aba",
        "US",
        {"routing_number": "021000021", "account_number": "123456789", "account_type": "checking"},
    ),
    "INR": ("in_ifsc", "IN", {"ifsc": "HDFC0001234", "account_number": "50100012345678"}),
    "CHF": ("iban", "CH", {"iban": "CH9300762011623852957", "bic": "POFICHBEXXX"}),
    "PLN": ("iban", "PL", {"iban": "PL61109010140000071219812874", "bic": "WBKPPLPP"}),
    "SEK": ("iban", "SE", {"iban": "SE4550000000058398257466", "bic": "ESSESESS"}),
}


def build_user(
    username: str | None = None,
    *,
    is_staff: bool = False,
    is_superuser: bool = False,
    password: str | None = None,
) -> User:
    username = username or f"user{next(_sequence)}"
    user: User = get_user_model().objects.create_user(
        username=username,
        email=f"{username}@example.com",
        password=password,
        is_staff=is_staff or is_superuser,
        is_superuser=is_superuser,
    )
    return user


def build_profile(
    *,
    kind: str = Profile.Kind.BUSINESS,
    verified: bool = True,
    submitted: bool = False,
    legal_name: str | None = None,
    country: str = "GB",
    owner: User | None = None,
    is_sandbox: bool = False,
    actor: Actor = BUILDER,
    **fields: Any,
) -> Profile:
    """A profile with its compliance status: verified (default), pending (`verified=False,
    submitted=True`) or unverified (`verified=False`). `owner` becomes its owner member."""
    n = next(_sequence)
    data: dict[str, Any] = {
        "legal_name": legal_name
        or (f"Business {n} Ltd" if kind == Profile.Kind.BUSINESS else f"Person {n}"),
        "registration_number": f"REG{n:06d}" if kind == Profile.Kind.BUSINESS else "",
        "address_line1": f"{n} High Street",
        "city": "London",
        "postal_code": "EC1A 1BB",
        "email": f"profile{n}@example.com",
    }
    data.update(fields)
    profile = profile_create(actor=actor, kind=kind, country=country, is_sandbox=is_sandbox, **data)
    if owner is not None:
        membership_add(actor=actor, profile=profile, user=owner, role=Membership.Role.OWNER)
    if verified or submitted:
        compliance_submit(actor=actor, status=profile.compliance)
    if verified:
        compliance_verify(actor=actor, status=profile.compliance, reason="documents checked")
    profile.refresh_from_db()
    return profile


def build_beneficiary(
    *,
    profile: Profile,
    currency: str = "GBP",
    holder_name: str = "Acme Supplies Ltd",
    actor: Actor = BUILDER,
    **overrides: Any,
) -> Beneficiary:
    """A valid beneficiary in `currency` (GBP, EUR, USD, INR, CHF, PLN or SEK); override
    `scheme`, `country` or `details` for anything else."""
    scheme, country, details = VALID_BENEFICIARY_DETAILS[currency]
    data: dict[str, Any] = {"scheme": scheme, "country": country, "details": dict(details)}
    data.update(overrides)
    return beneficiary_create(
        actor=actor, profile=profile, holder_name=holder_name, currency=currency, **data
    )


def build_wallet_funding(
    *, profile: Profile, currency: str, amount_minor: int, actor: Actor = BUILDER
) -> int:
    """Money paid in at the funding bank for `profile`; returns the ledger entry id."""
    return wallet_fund(
        actor=actor,
        profile=profile,
        currency=currency,
        amount_minor=amount_minor,
        external_reference=f"BANK-{next(_sequence):08d}",
    )
