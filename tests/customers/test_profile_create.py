"""profile_create: every field validated (each error names its field, nothing saved); the
profile comes with an unverified compliance status, an audit row and `customer.created`."""

from __future__ import annotations

from typing import Any

import pytest

from fintech.compliance.models import ComplianceStatus
from fintech.core.errors import ValidationFailed
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.core.services import Actor
from fintech.customers.models import Profile
from fintech.customers.services import profile_create

pytestmark = pytest.mark.django_db

OPS = Actor(label="user:ops", user_id=None, request_id="req-p")

BUSINESS: dict[str, Any] = {
    "kind": "business",
    "legal_name": "Northwind Trading Ltd",
    "registration_number": "sc123456",
    "country": "gb",
    "address_line1": "1 Canal Street",
    "city": "Manchester",
    "postal_code": "M1 3HE",
    "email": "Finance@Northwind.EXAMPLE",
}


def create(**changes: Any) -> Profile:
    return profile_create(actor=OPS, **{**BUSINESS, **changes})


def refused(**changes: Any) -> dict[str, str]:
    counts = (Profile.objects.count(), ComplianceStatus.objects.count())
    audits, events = AuditEvent.objects.count(), OutboxEvent.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        create(**changes)
    assert (Profile.objects.count(), ComplianceStatus.objects.count()) == counts
    assert (AuditEvent.objects.count(), OutboxEvent.objects.count()) == (audits, events)
    return {f.field: f.code for f in caught.value.fields}


def test_business_is_created_normalised_with_unverified_compliance() -> None:
    profile = create(address_line2=" Floor 2 ")

    profile.refresh_from_db()
    assert profile.kind == "business"
    assert profile.country == "GB"
    assert profile.registration_number == "SC123456"
    assert profile.email == "Finance@northwind.example"  # domain lower-cased, local part kept
    assert profile.address_line2 == "Floor 2"
    assert profile.is_sandbox is False
    assert profile.compliance.state == ComplianceStatus.State.UNVERIFIED
    assert profile.compliance.review_required is False


def test_audit_row_and_customer_created_event() -> None:
    profile = create(is_sandbox=True)

    audit = AuditEvent.objects.get(action="profile.created")
    assert audit.target_type == "customers.profile"
    assert audit.target_id == str(profile.pk)
    assert (audit.actor_label, audit.request_id) == ("user:ops", "req-p")
    event = OutboxEvent.objects.get(type="customer.created")
    assert event.profile_id == profile.pk
    assert event.payload == {
        "profile_id": profile.pk,
        "kind": "business",
        "country": "GB",
        "is_sandbox": True,
    }


def test_personal_profile_needs_no_registration_number() -> None:
    profile = create(kind="personal", legal_name="Carol Smith", registration_number="")
    assert profile.kind == "personal"


def test_business_needs_a_registration_number() -> None:
    assert refused(registration_number="  ") == {"registration_number": "required"}


def test_a_person_has_no_registration_number() -> None:
    assert refused(kind="personal") == {"registration_number": "not_allowed"}


@pytest.mark.parametrize("country", ["XX", "UK", "GBR", "", "G1", None])
def test_country_must_be_iso_3166_alpha_2(country) -> None:
    assert refused(country=country) == {"country": "invalid_country"}


@pytest.mark.parametrize(
    "email", ["", "not-an-email", "a@b", "alice@", "@example.com", "a b@example.com", None]
)
def test_email_must_be_an_address(email) -> None:
    assert refused(email=email) == {"email": "invalid_email"}


@pytest.mark.parametrize("kind", ["company", "", None, "BUSINESS"])
def test_kind_must_be_personal_or_business(kind) -> None:
    assert refused(kind=kind, registration_number="")["kind"] == "invalid_choice"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("legal_name", "", "required"),
        ("legal_name", "x" * 201, "too_long"),
        ("legal_name", "Evil\nCorp", "invalid_characters"),
        ("address_line1", " ", "required"),
        ("address_line2", "x" * 201, "too_long"),
        ("city", "", "required"),
        ("postal_code", "x" * 21, "too_long"),
        ("registration_number", "x" * 51, "too_long"),
        ("legal_name", 42, "invalid"),
    ],
)
def test_text_fields(field, value, code) -> None:
    assert refused(**{field: value}) == {field: code}


def test_postal_code_may_be_empty_for_countries_without_one() -> None:
    assert create(country="HK", postal_code="").postal_code == ""


def test_every_bad_field_is_named_at_once() -> None:
    errors = refused(legal_name="", registration_number="", country="ZZ", email="nope", city="")
    assert errors == {
        "legal_name": "required",
        "registration_number": "required",
        "country": "invalid_country",
        "email": "invalid_email",
        "city": "required",
    }
