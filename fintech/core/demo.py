"""Demo data for the operator console: every screen has something in it.

Everything is created through the services (so the ledger, audit trail and outbox are
exactly what production would hold) and keyed by natural keys, so a second run creates
nothing twice.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from fintech.beneficiaries.models import Beneficiary
from fintech.beneficiaries.services import beneficiary_create
from fintech.compliance.cases.services import case_note_add
from fintech.compliance.models import Case
from fintech.compliance.screening.services import sanctions_list_load
from fintech.compliance.services import (
    compliance_flag_review,
    compliance_reject,
    compliance_submit,
    compliance_verify,
)
from fintech.core.models import DeadLetter, OutboxEvent
from fintech.core.services import Actor, outbox_mark_dispatched
from fintech.customers.models import Membership, Profile
from fintech.customers.services import membership_add, profile_create
from fintech.quotes.services import quote_create
from fintech.transfers import services as transfers
from fintech.transfers.models import Transfer
from fintech.wallets.selectors import wallet_owner
from fintech.wallets.services import wallet_fund
from ledger.chart import wallet_account
from ledger.services import hold_place

DEMO = Actor.system("demo-data")


@dataclass
class DemoProfile:
    legal_name: str
    kind: str
    country: str
    city: str
    email: str
    owner: str
    compliance: str  # unverified | pending | verified | rejected | review
    registration_number: str = ""
    beneficiaries: list[str] = field(default_factory=list)
    sandbox: bool = False  # for API integrators: a sandbox client, sandbox data only


BENEFICIARY_DETAILS: dict[str, tuple[str, str, str, dict[str, str]]] = {
    "GBP": (
        "Thames Components Ltd",
        "gb_sort_code",
        "GB",
        {"sort_code": "40-47-84", "account_number": "70872490"},
    ),
    "EUR": (
        "Rheinwerk Teile GmbH",
        "iban",
        "DE",
        {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
    ),
    "USD": (
        "Bayside Logistics Inc",
        "us_aba",
        "US",
        {"routing_number": "021000021", "account_number": "123456789", "account_type": "checking"},
    ),
    "INR": (
        "Mumbai Textiles Pvt Ltd",
        "in_ifsc",
        "IN",
        {"ifsc": "HDFC0001234", "account_number": "50100012345678"},
    ),
}

PROFILES = [
    DemoProfile(
        "Acme Trading Ltd", "business", "GB", "London", "finance@acme.example", "acme_owner",
        "verified", "09876543", ["EUR", "USD", "INR"],
    ),
    DemoProfile(
        "Nordlicht Handel GmbH", "business", "DE", "Hamburg", "buchhaltung@nordlicht.example",
        "nordlicht_owner", "verified", "HRB123456", ["GBP", "USD"],
    ),
    DemoProfile(
        "Bayside Software Inc", "business", "US", "San Francisco", "ap@bayside.example",
        "bayside_owner", "review", "C4567890", ["EUR"],
    ),
    DemoProfile(
        "Priya Raman", "personal", "GB", "Manchester", "priya@example.com", "priya",
        "pending", "", [],
    ),
    DemoProfile(
        "Tom Becker", "personal", "DE", "Berlin", "tom@example.com", "tom", "rejected", "", [],
    ),
    # The business the API walkthrough (fintech/api/README.md) registers its sandbox client for.
    DemoProfile(
        "Acme Sandbox Ltd", "business", "GB", "London", "dev@acme.example", "acme_owner",
        "verified", "SANDBOX01", ["EUR"], sandbox=True,
    ),
]  # fmt: skip

# (customer transaction id, source, target, source amount, the steps after creation)
TRANSFERS: list[tuple[str, str, str, str, list[str]]] = [
    ("DEMO-created", "GBP", "EUR", "1250.00", []),
    ("DEMO-funded", "GBP", "USD", "830.40", ["fund"]),
    ("DEMO-processing", "GBP", "INR", "2100.00", ["fund", "submit"]),
    ("DEMO-completed", "GBP", "EUR", "5000.00", ["fund", "submit", "complete"]),
    ("DEMO-failed", "GBP", "USD", "310.25", ["fund", "submit", "fail"]),
    ("DEMO-cancelled", "GBP", "EUR", "75.00", ["fund", "cancel"]),
    ("DEMO-refunded", "GBP", "INR", "640.00", ["fund", "submit", "fail", "refund"]),
    ("DEMO-completed-2", "GBP", "USD", "12000.00", ["fund", "submit", "complete"]),
]

REASONS = {
    "fail": "payout partner returned: beneficiary account closed",
    "cancel": "customer asked to cancel",
    "refund": "refund to wallet after failed payout",
}

# Money paid in at the funding bank before the story starts (minor units), per profile.
OPENING_BALANCES: dict[str, dict[str, int]] = {
    "Acme Trading Ltd": {"GBP": 5_000_000, "EUR": 1_500_000},
    "Nordlicht Handel GmbH": {"EUR": 2_500_000},
    "Acme Sandbox Ltd": {"GBP": 10_000_000},
}


def _user(username: str) -> Any:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.com"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _profile(spec: DemoProfile) -> tuple[Profile, bool]:
    existing = Profile.objects.filter(legal_name=spec.legal_name).first()
    if existing:
        return existing, False
    profile = profile_create(
        actor=DEMO,
        kind=spec.kind,
        legal_name=spec.legal_name,
        registration_number=spec.registration_number,
        country=spec.country,
        address_line1="1 Demo Street",
        city=spec.city,
        postal_code="10001" if spec.country == "US" else "EC1A 1BB",
        email=spec.email,
        is_sandbox=spec.sandbox,
    )
    membership_add(actor=DEMO, profile=profile, user=_user(spec.owner), role=Membership.Role.OWNER)
    status = profile.compliance
    if spec.compliance != "unverified":
        compliance_submit(actor=DEMO, status=status)
    if spec.compliance in {"verified", "review"}:
        compliance_verify(actor=DEMO, status=status, reason="documents checked (demo)")
    if spec.compliance == "review":
        compliance_flag_review(
            actor=DEMO, status=status, reason="unusual volume to a new corridor (demo)"
        )
    if spec.compliance == "rejected":
        compliance_reject(actor=DEMO, status=status, reason="identity document expired (demo)")
    return profile, True


def _beneficiary(profile: Profile, currency: str) -> Beneficiary:
    holder, scheme, country, details = BENEFICIARY_DETAILS[currency]
    existing = profile.beneficiaries.filter(currency=currency, holder_name=holder).first()
    if existing:
        return existing
    return beneficiary_create(
        actor=DEMO,
        profile=profile,
        holder_name=holder,
        currency=currency,
        country=country,
        scheme=scheme,
        details=dict(details),
    )


def _transfer(profile: Profile, spec: tuple[str, str, str, str, list[str]]) -> bool:
    ctid, source, target, amount, steps = spec
    if Transfer.objects.filter(profile=profile, customer_transaction_id=ctid).exists():
        return False
    beneficiary = _beneficiary(profile, target)
    quote = quote_create(
        actor=DEMO,
        profile=profile,
        source_currency=source,
        target_currency=target,
        source_amount=amount,
    )
    transfer = transfers.transfer_create(
        actor=DEMO,
        profile=profile,
        quote_id=quote.pk,
        beneficiary_id=beneficiary.pk,
        customer_transaction_id=ctid,
    )
    for step in steps:
        service = getattr(transfers, f"transfer_{step}")
        service(actor=DEMO, transfer_id=transfer.pk, reason=REASONS.get(step, ""))
        transfer.refresh_from_db()
    return True


# A two-entry list in the OFAC SDN format, so the sanctions screens have a version, entries
# and (through Nordlicht's supplier below) an open hit.
DEMO_SDN = """<?xml version="1.0" standalone="yes"?>
<sdnList xmlns="http://tempuri.org/sdnList.xsd">
  <publshInformation><Publish_Date>12/01/2026</Publish_Date></publshInformation>
  <sdnEntry><uid>990001</uid><lastName>BLUE HORIZON GENERAL TRADING LLC</lastName>
    <sdnType>Entity</sdnType>
    <akaList><aka><uid>990101</uid><lastName>BLUE HORIZON TRADING FZE</lastName></aka></akaList>
    <addressList><address><uid>990201</uid><country>United Arab Emirates</country></address>
    </addressList></sdnEntry>
  <sdnEntry><uid>990002</uid><firstName>Ivan</firstName><lastName>PETROV</lastName>
    <sdnType>Individual</sdnType>
    <dateOfBirthList><dateOfBirthItem><uid>990301</uid><dateOfBirth>12 Mar 1965</dateOfBirth>
    </dateOfBirthItem></dateOfBirthList></sdnEntry>
</sdnList>
"""


def _sanctions(nordlicht: Profile) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo_sdn.xml"
        path.write_text(DEMO_SDN, encoding="utf-8")
        sanctions_list_load(actor=DEMO, source="ofac", path=path)  # a rerun: same file, no-op
    holder = "Blue Horizon Trading FZE"
    if not nordlicht.beneficiaries.filter(holder_name=holder).exists():
        # Screened on creation: an open hit holds this beneficiary (not the profile).
        beneficiary_create(
            actor=DEMO,
            profile=nordlicht,
            holder_name=holder,
            currency="EUR",
            country="DE",
            scheme="iban",
            details={"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"},
        )
    # The hit opened a case (fintech/compliance/cases): give it a note so its page shows one.
    case = Case.objects.filter(profile=nordlicht, state=Case.State.OPEN).first()
    if case is not None and not case.notes.exists():
        case_note_add(
            actor=DEMO,
            case_id=case.pk,
            text="Beneficiary's name matches an OFAC entry: asked for the holder's registration.",
        )


@transaction.atomic
def demo_data_load() -> dict[str, int]:
    """Create the demo world; returns how many profiles and transfers were new."""
    created = {"profiles": 0, "transfers": 0, "quotes": 0}
    started = timezone.now()
    profiles: dict[str, Profile] = {}
    for spec in PROFILES:
        profile, new = _profile(spec)
        profiles[spec.legal_name] = profile
        created["profiles"] += int(new)
        for currency in spec.beneficiaries:
            _beneficiary(profile, currency)
        for currency, amount_minor in OPENING_BALANCES.get(spec.legal_name, {}).items():
            wallet_fund(
                actor=DEMO,
                profile=profile,
                currency=currency,
                amount_minor=amount_minor,
                external_reference=f"DEMO-OPENING-{profile.pk}-{currency}",
            )
    acme = profiles["Acme Trading Ltd"]
    for transfer_spec in TRANSFERS:
        created["transfers"] += int(_transfer(acme, transfer_spec))
    # Funds reserved on a wallet (a scheduled payment), so the holds screen has a row.
    nordlicht_eur = wallet_account(owner=wallet_owner(profiles["Nordlicht Handel GmbH"]),
                                   currency="EUR")  # fmt: skip
    hold_place(
        account_id=nordlicht_eur.pk,
        amount_minor=25_000,
        idempotency_key="demo:hold:nordlicht:scheduled-payment",
        memo="reserved for a scheduled supplier payment (demo)",
    )
    # A quote that was never used, so the quotes screen shows an open and an unused one.
    nordlicht = profiles["Nordlicht Handel GmbH"]
    if not nordlicht.quotes.exists():
        quote_create(
            actor=DEMO,
            profile=nordlicht,
            source_currency="EUR",
            target_currency="GBP",
            target_amount="2500.00",
        )
        created["quotes"] += 1
    _sanctions(nordlicht)
    # A row a drain parked (an example: nothing in the demo fails), so its screen has one.
    DeadLetter.objects.get_or_create(
        source="api.request_log",
        reference="demo-request-0001",
        defaults={
            "payload": '{"method": "GET", "path": "/api/v1/profile", "latency_ms": -1}',
            "error_class": "django.db.utils.IntegrityError",
            "error_message": 'new row violates check constraint "latency_ms_check" (demo)',
        },
    )
    # The demo world is history: its events must not drive the partner sandboxes (which would
    # complete the "processing" transfer and verify the "pending" profile a second later).
    outbox_mark_dispatched(
        event_ids=list(
            OutboxEvent.objects.filter(
                occurred_at__gte=started, status=OutboxEvent.Status.PENDING
            ).values_list("id", flat=True)
        )
    )
    return created
