"""The HubSpot mapping: lifecycle rules, the allowlists, HubSpot's own models, and the
data-minimisation property over random profiles (nothing sensitive in any body)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings

from integrations.connectors.crm.hubspot import mapping
from integrations.connectors.crm.records import ProfileRecord, TransferRecord
from integrations.simulators.crm.validation import model_errors
from tests.connectors.crm.records import NOW, profiles
from tests.connectors.crm.scan import leaks

RULES = mapping.Rules()
CONSOLE = "http://console.test"


def bodies_for(record: ProfileRecord, *, now: dt.datetime = NOW) -> list[tuple[str, str, dict]]:
    """Every body the connector would send for this record: (object type, model, body)."""
    company = mapping.company_properties(record, now=now, rules=RULES, console=CONSOLE)
    out = [
        ("companies", "SimplePublicObjectInputForCreate", mapping.create_body(company)),
        ("companies", "SimplePublicObjectInput", mapping.update_body(company)),
        (
            "companies",
            "PublicObjectSearchRequest",
            mapping.search_body(mapping.REFERENCE, record.reference),
        ),
    ]
    for member in record.members:
        props = mapping.contact_properties(member, rules=RULES, console=CONSOLE)
        out.append(
            (
                "contacts",
                "SimplePublicObjectInputForCreate",
                mapping.create_body(props, company_id="123", type_id=mapping.CONTACT_TO_COMPANY),
            )
        )
        out.append(
            ("contacts", "PublicObjectSearchRequest", mapping.search_body("email", props["email"]))
        )
    for transfer in record.transfers:
        if transfer.state == "failed":
            note = mapping.note_failed_payment(transfer, rules=RULES, console=CONSOLE)
            out.append(
                (
                    "notes",
                    "SimplePublicObjectInputForCreate",
                    mapping.create_body(note, company_id="123", type_id=mapping.NOTE_TO_COMPANY),
                )
            )
    if record.kyc_state == "verified":
        note = mapping.note_verified(record, when=now, rules=RULES, console=CONSOLE)
        out.append(("notes", "SimplePublicObjectInputForCreate", mapping.create_body(note)))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=profiles())
def test_no_sensitive_value_reaches_any_body(record: ProfileRecord) -> None:
    bodies = bodies_for(record)
    assert leaks(record, [b for _, _, b in bodies]) == []
    for object_type, model, body in bodies:
        assert model_errors(object_type, model, body) == [], (model, body)


@settings(max_examples=60, deadline=None)
@given(record=profiles())
def test_every_property_is_on_its_allowlist(record: ProfileRecord) -> None:
    allowed = mapping.allowlists(RULES)
    for object_type, model, body in bodies_for(record):
        if "properties" in body and isinstance(body["properties"], dict):
            kind = {"companies": "company", "contacts": "contact", "notes": "note"}[object_type]
            assert set(body["properties"]) <= set(allowed[kind]), model


def test_a_property_off_the_allowlist_is_refused() -> None:
    with pytest.raises(mapping.FieldNotAllowed, match="company: iban not on the allowlist"):
        mapping.allowlisted("company", {"iban": "GB82WEST"}, rules=RULES, console=CONSOLE)


def test_a_value_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(mapping.FieldNotAllowed, match="fintech_last_failed_reason"):
        mapping.allowlisted(
            "company",
            {"fintech_last_failed_reason": "returned by bank of Jane Doe"},
            rules=RULES,
            console=CONSOLE,
        )
    with pytest.raises(mapping.FieldNotAllowed, match="fintech_console_link"):
        mapping.allowlisted(
            "company", {"fintech_console_link": "http://evil.test/x"}, rules=RULES, console=CONSOLE
        )


def _record(**changes: object) -> ProfileRecord:
    base = ProfileRecord(
        profile_id=7,
        kind="business",
        legal_name="Alice Trading Ltd",
        registration_number="REG1",
        country="GB",
        address_line1="1 Road",
        address_line2="",
        city="London",
        postal_code="E1",
        email="a@example.com",
        created_at=NOW - dt.timedelta(days=200),
        kyc_state="unverified",
        kyc_review_required=False,
        kyc_review_reason="",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _transfer(days_ago: int, minor: int, state: str = "completed", **kw: object) -> TransferRecord:
    when = NOW - dt.timedelta(days=days_ago)
    return TransferRecord(
        transfer_id=days_ago + 1,
        reference=f"TR{days_ago:06d}",
        state=state,
        source_currency=str(kw.get("currency", "GBP")),
        source_amount_minor=minor,
        target_currency="EUR",
        target_amount_minor=minor,
        fee_minor=100,
        failure_reason=str(kw.get("reason", "")),
        customer_transaction_id="x",
        beneficiary_name="Bob",
        beneficiary_details={},
        created_at=when,
        completed_at=when if state == "completed" else None,
        failed_at=when if state == "failed" else None,
    )


@pytest.mark.parametrize(
    ("changes", "stage"),
    [
        ({}, "lead"),
        ({"members": (object(),)}, "signed_up"),
        ({"kyc_state": "pending"}, "verification_submitted"),
        ({"kyc_state": "rejected"}, "verification_submitted"),
        ({"kyc_state": "verified"}, "verified"),
        ({"kyc_state": "verified", "transfers": (_transfer(3, 100),)}, "active"),
        ({"kyc_state": "verified", "transfers": (_transfer(120, 100),)}, "dormant"),
    ],
)
def test_onboarding_stage(changes: dict, stage: str) -> None:
    assert mapping.onboarding_stage(_record(**changes), now=NOW, rules=RULES) == stage


def test_volume_bands_tiers_and_the_high_value_tag() -> None:
    # 90 days: GBP 60,000 + 50,000 = 110,000 -> band 2 (100k-1m): scale, high value.
    transfers = (_transfer(1, 6_000_000), _transfer(80, 5_000_000), _transfer(100, 90_000_000))
    props = mapping.company_properties(
        _record(kyc_state="verified", transfers=transfers), now=NOW, rules=RULES, console=CONSOLE
    )
    assert props["fintech_volume_band_90d"] == "100k_1m"
    assert props["fintech_account_tier"] == "scale"
    assert props["fintech_high_value"] == "true"
    # This month (December): one transfer of GBP 60,000.
    assert props["fintech_activity_count"] == "1"
    assert props["fintech_activity_band"] == "10k_100k"
    assert props["fintech_currencies"] == "EUR;GBP"


def test_bands_are_configurable() -> None:
    rules = mapping.Rules(band_edges=(500,), tiers=("small", "big"), high_value_band=1)
    props = mapping.company_properties(
        _record(transfers=(_transfer(1, 60_000),)), now=NOW, rules=rules, console=CONSOLE
    )
    assert (props["fintech_volume_band_90d"], props["fintech_account_tier"]) == ("500_plus", "big")
    assert props["fintech_high_value"] == "true"


def test_a_failed_payment_goes_as_its_reason_code_only() -> None:
    failed = _transfer(2, 100, "failed", reason="payout partner: invalid_account: Jane Doe's IBAN")
    record = _record(kyc_state="verified", transfers=(failed,))
    props = mapping.company_properties(record, now=NOW, rules=RULES, console=CONSOLE)
    assert props["fintech_last_failed_reason"] == "invalid_account"
    note = mapping.note_failed_payment(failed, rules=RULES, console=CONSOLE)
    assert "Jane" not in note["hs_note_body"]
    assert "Reason code: invalid_account" in note["hs_note_body"]
    assert f"{CONSOLE}/admin/transfers/transfer/3/change/" in note["hs_note_body"]
    free_text = _transfer(2, 100, "failed", reason="returned: Jane Doe closed it")
    assert mapping.reason_code(free_text.failure_reason) == "other"


def test_kyc_label_has_no_reasons() -> None:
    record = _record(kyc_state="pending", kyc_review_required=True, kyc_review_reason="passport")
    props = mapping.company_properties(record, now=NOW, rules=RULES, console=CONSOLE)
    assert props["fintech_kyc_status"] == "under_review"
    assert "passport" not in str(props)


def test_property_definitions_are_valid_property_creates() -> None:
    for definition in mapping.property_definitions(RULES):
        assert model_errors("properties", "PropertyCreate", definition) == [], definition
