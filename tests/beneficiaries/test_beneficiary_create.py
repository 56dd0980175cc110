"""beneficiary_create: validation per scheme (each error names its field, nothing saved),
normalisation, masking, audit row and a minimal `beneficiary.added` event."""

from __future__ import annotations

from typing import Any

import pytest

from fintech.beneficiaries.models import Beneficiary
from fintech.beneficiaries.selectors import beneficiary_bank_details
from fintech.beneficiaries.services import beneficiary_create
from fintech.core.errors import ValidationFailed
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.core.services import Actor

pytestmark = pytest.mark.django_db

ALICE = Actor(label="user:alice", request_id="req-b")

VALID: dict[str, dict[str, Any]] = {
    "iban": {
        "currency": "EUR",
        "country": "DE",
        "scheme": "iban",
        "details": {"iban": "de89 3704 0044 0532 0130 00", "bic": "cobadeff-xxx"},
    },
    "gb_sort_code": {
        "currency": "GBP",
        "country": "GB",
        "scheme": "gb_sort_code",
        "details": {"sort_code": "40-47-84", "account_number": "7087 2490"},
    },
    "us_aba": {
        "currency": "USD",
        "country": "US",
        "scheme": "us_aba",
        "details": {
            "routing_number": "021000021",
            "account_number": "000123456789",
            "account_type": "Checking",
        },
    },
    "in_ifsc": {
        "currency": "INR",
        "country": "IN",
        "scheme": "in_ifsc",
        "details": {"ifsc": "hdfc0001234", "account_number": "50100012345678"},
    },
}
NORMALISED = {
    "iban": {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
    "gb_sort_code": {"sort_code": "404784", "account_number": "70872490"},
    "us_aba": {
        "routing_number": "021000021",
        "account_number": "000123456789",
        "account_type": "checking",
    },
    "in_ifsc": {"ifsc": "HDFC0001234", "account_number": "50100012345678"},
}
MASKED = {
    "iban": "IBAN ****3000",
    "gb_sort_code": "UK account ****2490",
    "us_aba": "US account ****6789",
    "in_ifsc": "IN account ****5678",
}


def create(profile, base: str = "iban", holder_name: Any = "Acme GmbH", **changes: Any):
    """Create from the valid example of scheme `base`, with `changes` applied."""
    data = {**VALID[base], **changes}
    return beneficiary_create(actor=ALICE, profile=profile, holder_name=holder_name, **data)


def refused(profile, base: str = "iban", **changes: Any) -> dict[str, str]:
    """Create with `changes`; expect ValidationFailed and nothing saved; field -> code."""
    before = Beneficiary.objects.count()
    audits, events = AuditEvent.objects.count(), OutboxEvent.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        create(profile, base, **changes)
    assert Beneficiary.objects.count() == before
    assert AuditEvent.objects.count() == audits
    assert OutboxEvent.objects.count() == events
    assert caught.value.status == 400
    return {f.field: f.code for f in caught.value.fields}


def with_details(scheme: str, **details: Any) -> dict[str, Any]:
    return {"details": {**VALID[scheme]["details"], **details}}


# --- valid examples ----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", list(VALID))
def test_valid_details_round_trip_normalised(alice, scheme) -> None:
    beneficiary = create(alice, scheme)

    assert beneficiary_bank_details(beneficiary=beneficiary) == NORMALISED[scheme]
    fresh = Beneficiary.objects.get(pk=beneficiary.pk)
    assert fresh.bank_details == NORMALISED[scheme]
    assert fresh.masked_details == MASKED[scheme]
    assert fresh.currency == VALID[scheme]["currency"]
    assert fresh.country == VALID[scheme]["country"]
    assert fresh.is_active is True


@pytest.mark.parametrize(
    ("currency", "country", "iban", "bic"),
    [
        ("GBP", "GB", "GB29 NWBK 6016 1331 9268 19", "NWBKGB2L"),
        ("EUR", "GB", "GB29NWBK60161331926819", "NWBKGB2L"),
        ("CHF", "CH", "CH9300762011623852957", "POFICHBEXXX"),
        ("PLN", "PL", "PL61109010140000071219812874", "WBKPPLPP"),
        ("SEK", "SE", "SE4550000000058398257466", "ESSESESS"),
        ("EUR", "FR", "FR1420041010050500013M02606", "PSSTFRPP"),
        ("EUR", "NL", "NL91ABNA0417164300", "ABNANL2A"),
    ],
)
def test_iban_currencies_each_country_can_receive(alice, currency, country, iban, bic) -> None:
    beneficiary = create(
        alice, currency=currency, country=country, details={"iban": iban, "bic": bic}
    )
    assert beneficiary.currency == currency


def test_lower_case_currency_and_country_are_normalised(alice) -> None:
    beneficiary = create(alice, currency="eur", country="de", holder_name="  Acme GmbH ")
    assert (beneficiary.currency, beneficiary.country) == ("EUR", "DE")
    assert beneficiary.holder_name == "Acme GmbH"


def test_audit_and_event_are_written_without_bank_details(alice) -> None:
    beneficiary = create(alice, "gb_sort_code")

    audit = AuditEvent.objects.get(action="beneficiary.added")
    assert audit.target_id == str(beneficiary.pk)
    assert audit.actor_label == "user:alice"
    assert audit.request_id == "req-b"
    event = OutboxEvent.objects.get(type="beneficiary.added")
    assert event.profile_id == alice.pk
    assert event.payload == {
        "beneficiary_id": beneficiary.pk,
        "profile_id": alice.pk,
        "currency": "GBP",
        "country": "GB",
        "scheme": "gb_sort_code",
    }
    for text in (str(event.payload), str(audit.data)):
        assert "70872490" not in text
        assert "404784" not in text


# --- common fields -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holder_name", "code"),
    [
        ("", "required"),
        ("   ", "required"),
        ("x" * 141, "too_long"),
        ("Acme\x00Ltd", "invalid_characters"),
        (None, "invalid"),
    ],
)
def test_holder_name_is_required_short_and_printable(alice, holder_name, code) -> None:
    assert refused(alice, holder_name=holder_name) == {"holder_name": code}


def test_holder_name_of_140_characters_is_accepted(alice) -> None:
    assert create(alice, holder_name="x" * 140).holder_name == "x" * 140


@pytest.mark.parametrize("currency", ["XXX", "BTC", "", None, "DKK"])
def test_unsupported_currency_is_refused(alice, currency) -> None:
    errors = refused(alice, currency=currency)
    assert errors["currency"] == "unsupported_currency"


@pytest.mark.parametrize("country", ["XX", "Germany", "", None])
def test_unknown_country_is_refused(alice, country) -> None:
    assert refused(alice, country=country)["country"] == "invalid_country"


@pytest.mark.parametrize("scheme", ["swift", "", None, "IBAN"])
def test_unknown_scheme_is_refused(alice, scheme) -> None:
    assert refused(alice, "iban", scheme=scheme) == {"scheme": "unknown_scheme"}


@pytest.mark.parametrize("scheme", list(VALID))
def test_missing_detail_keys_are_named(alice, scheme) -> None:
    details = dict(VALID[scheme]["details"])
    first_key = next(iter(details))
    del details[first_key]
    assert refused(alice, scheme, details=details) == {f"details.{first_key}": "required"}


@pytest.mark.parametrize("scheme", list(VALID))
def test_unknown_detail_keys_are_named(alice, scheme) -> None:
    errors = refused(alice, scheme, **with_details(scheme, swift_code="X", note="hi"))
    assert errors == {"details.swift_code": "unknown_field", "details.note": "unknown_field"}


def test_detail_values_must_be_text(alice) -> None:
    errors = refused(alice, "gb_sort_code", **with_details("gb_sort_code", account_number=70872490))
    assert errors == {"details.account_number": "invalid"}


def test_details_must_be_an_object(alice) -> None:
    assert refused(alice, details="DE89370400440532013000") == {"details": "invalid"}


def test_every_bad_field_is_reported_at_once(alice) -> None:
    errors = refused(
        alice,
        "us_aba",
        holder_name="",
        currency="XXX",
        details={"routing_number": "021000022", "account_number": "12", "account_type": "loan"},
    )
    assert errors == {
        "holder_name": "required",
        "currency": "unsupported_currency",
        "details.routing_number": "invalid_checksum",
        "details.account_number": "invalid_format",
        "details.account_type": "invalid_choice",
    }


# --- iban ---------------------------------------------------------------------------------------


def test_bad_iban_checksum_is_refused(alice) -> None:
    errors = refused(alice, **with_details("iban", iban="DE88370400440532013000"))
    assert errors == {"details.iban": "invalid_checksum"}


def test_bad_iban_length_is_refused(alice) -> None:
    errors = refused(alice, **with_details("iban", iban="DE8937040044053201300"))
    assert errors == {"details.iban": "invalid_length"}


def test_iban_with_unknown_country_is_refused(alice) -> None:
    errors = refused(alice, **with_details("iban", iban="XX89370400440532013000"))
    assert errors == {"details.iban": "invalid_country"}


def test_bad_bic_format_is_refused(alice) -> None:
    assert refused(alice, **with_details("iban", bic="COBA")) == {"details.bic": "invalid_format"}


def test_bic_country_must_match_iban_country(alice) -> None:
    errors = refused(alice, **with_details("iban", bic="NWBKGB2L"))
    assert errors == {"details.bic": "bic_country_mismatch"}


def test_beneficiary_country_must_match_iban_country(alice) -> None:
    assert refused(alice, country="FR") == {"country": "country_mismatch"}


@pytest.mark.parametrize(
    ("currency", "iban", "bic", "country"),
    [
        ("USD", "DE89370400440532013000", "COBADEFFXXX", "DE"),  # euro area receives EUR only
        ("GBP", "DE89370400440532013000", "COBADEFFXXX", "DE"),
        ("CHF", "GB29NWBK60161331926819", "NWBKGB2L", "GB"),  # GB receives GBP and EUR
        ("PLN", "SE4550000000058398257466", "ESSESESS", "SE"),
    ],
)
def test_currency_the_iban_country_cannot_receive_is_refused(
    alice, currency, iban, bic, country
) -> None:
    errors = refused(alice, currency=currency, country=country, details={"iban": iban, "bic": bic})
    assert errors == {"currency": "currency_not_receivable"}


def test_iban_country_we_do_not_pay_is_refused(alice) -> None:
    # A valid Saudi IBAN: structurally fine, but outside the countries we pay.
    errors = refused(
        alice,
        currency="EUR",
        country="SA",
        details={"iban": "SA0380000000608010167519", "bic": "RJHISARI"},
    )
    assert errors == {"details.iban": "unsupported_country"}


# --- gb_sort_code -------------------------------------------------------------------------------


@pytest.mark.parametrize("sort_code", ["12345", "1234567", "12-34-5X", "ab-cd-ef"])
def test_bad_sort_code_is_refused(alice, sort_code) -> None:
    errors = refused(alice, "gb_sort_code", **with_details("gb_sort_code", sort_code=sort_code))
    assert errors == {"details.sort_code": "invalid_format"}


@pytest.mark.parametrize("account_number", ["1234567", "123456789", "1234567A"])
def test_bad_uk_account_number_is_refused(alice, account_number) -> None:
    errors = refused(
        alice, "gb_sort_code", **with_details("gb_sort_code", account_number=account_number)
    )
    assert errors == {"details.account_number": "invalid_format"}


def test_sort_code_pays_gbp_only(alice) -> None:
    assert refused(alice, "gb_sort_code", currency="EUR") == {"currency": "currency_not_receivable"}


def test_sort_code_accounts_are_in_gb(alice) -> None:
    assert refused(alice, "gb_sort_code", country="IE") == {"country": "country_mismatch"}


# --- us_aba -------------------------------------------------------------------------------------


@pytest.mark.parametrize("routing_number", ["021000022", "123456789", "111111111"])
def test_bad_aba_checksum_is_refused(alice, routing_number) -> None:
    errors = refused(alice, "us_aba", **with_details("us_aba", routing_number=routing_number))
    assert errors == {"details.routing_number": "invalid_checksum"}


@pytest.mark.parametrize("routing_number", ["02100002", "0210000211", "02100002A"])
def test_routing_number_must_be_nine_digits(alice, routing_number) -> None:
    errors = refused(alice, "us_aba", **with_details("us_aba", routing_number=routing_number))
    assert errors == {"details.routing_number": "invalid_format"}


@pytest.mark.parametrize("routing_number", ["011000015", "026009593", "121000358"])
def test_real_routing_numbers_pass_the_checksum(alice, routing_number) -> None:
    beneficiary = create(alice, "us_aba", **with_details("us_aba", routing_number=routing_number))
    assert beneficiary.bank_details["routing_number"] == routing_number


@pytest.mark.parametrize("account_number", ["123", "123456789012345678", "12345X"])
def test_bad_us_account_number_is_refused(alice, account_number) -> None:
    errors = refused(alice, "us_aba", **with_details("us_aba", account_number=account_number))
    assert errors == {"details.account_number": "invalid_format"}


@pytest.mark.parametrize("account_number", ["1234", "12345678901234567"])
def test_us_account_number_length_bounds(alice, account_number) -> None:
    assert create(alice, "us_aba", **with_details("us_aba", account_number=account_number))


def test_us_account_type_must_be_checking_or_savings(alice) -> None:
    errors = refused(alice, "us_aba", **with_details("us_aba", account_type="loan"))
    assert errors == {"details.account_type": "invalid_choice"}


def test_aba_pays_usd_in_the_us_only(alice) -> None:
    assert refused(alice, "us_aba", currency="GBP", country="GB") == {
        "currency": "currency_not_receivable",
        "country": "country_mismatch",
    }


# --- in_ifsc ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ifsc", ["HDFC1001234", "HDF00001234", "HDFC000123", "HDFC00012345"])
def test_bad_ifsc_is_refused(alice, ifsc) -> None:
    errors = refused(alice, "in_ifsc", **with_details("in_ifsc", ifsc=ifsc))
    assert errors == {"details.ifsc": "invalid_format"}


@pytest.mark.parametrize("account_number", ["12345678", "1234567890123456789", "12345678X"])
def test_bad_indian_account_number_is_refused(alice, account_number) -> None:
    errors = refused(alice, "in_ifsc", **with_details("in_ifsc", account_number=account_number))
    assert errors == {"details.account_number": "invalid_format"}


def test_ifsc_pays_inr_only(alice) -> None:
    assert refused(alice, "in_ifsc", currency="USD") == {"currency": "currency_not_receivable"}
