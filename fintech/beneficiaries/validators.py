"""Validation and normalisation of beneficiaries, per payment scheme.

Every problem is reported at once as a FieldError naming the field (`holder_name`,
`currency`, `country`, `scheme`, `details.iban`, ...). Normalised values are upper-case with
spaces and dashes removed, so what is stored (encrypted) is what the payout partner gets.

A new scheme is: its keys in SCHEME_KEYS, a `_check_<scheme>` function, its entry in
_CHECKS, and a label in MASK_LABELS.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from schwifty import BIC, IBAN
from schwifty.exceptions import (
    InvalidBBANChecksum,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    NationalChecksumNotVerified,
    SchwiftyException,
)

from fintech.core.errors import FieldError, ValidationFailed
from fintech.core.money import validate_currency
from fintech.customers.validators import country_error, text_error

SCHEME_KEYS: dict[str, tuple[str, ...]] = {
    "iban": ("iban", "bic"),
    "gb_sort_code": ("sort_code", "account_number"),
    "us_aba": ("routing_number", "account_number", "account_type"),
    "in_ifsc": ("ifsc", "account_number"),
}

# Which currencies an account in each IBAN country can receive from us. Every SEPA country
# receives EUR (SEPA credit transfer); countries with their own currency that we support also
# receive it locally. A country missing here is one we do not pay IBANs in yet.
_EURO_AREA = [
    *("AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU"),
    *("LV", "MT", "NL", "PT", "SI", "SK"),
    *("AD", "MC", "SM", "VA"),  # use the euro by agreement
]
# SEPA members whose own currency we do not support: they receive EUR only.
_SEPA_EUR_ONLY = ["BG", "CZ", "DK", "HU", "IS", "LI", "NO", "RO"]
IBAN_CURRENCIES: dict[str, frozenset[str]] = {
    **{c: frozenset({"EUR"}) for c in _EURO_AREA + _SEPA_EUR_ONLY},
    "GB": frozenset({"GBP", "EUR"}),
    "CH": frozenset({"CHF", "EUR"}),
    "PL": frozenset({"PLN", "EUR"}),
    "SE": frozenset({"SEK", "EUR"}),
}

# Domestic schemes: the one country and currency each pays in.
DOMESTIC_SCHEMES: dict[str, tuple[str, str]] = {
    "gb_sort_code": ("GB", "GBP"),
    "us_aba": ("US", "USD"),
    "in_ifsc": ("IN", "INR"),
}

MASK_LABELS = {
    "iban": "IBAN",
    "gb_sort_code": "UK account",
    "us_aba": "US account",
    "in_ifsc": "IN account",
}

_DIGITS = re.compile(r"^\d+$")
_IFSC = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")
_SPACES_AND_DASHES = re.compile(r"[\s\-]+")


@dataclass(frozen=True, slots=True)
class BeneficiaryInput:
    holder_name: str
    currency: str
    country: str
    scheme: str
    details: dict[str, str]
    masked_details: str


def normalise(value: str) -> str:
    return _SPACES_AND_DASHES.sub("", value).upper()


def mask(scheme: str, details: dict[str, str]) -> str:
    """Only the last four characters of the account identifier, e.g. "IBAN ****3000"."""
    account = details["iban"] if scheme == "iban" else details["account_number"]
    return f"{MASK_LABELS[scheme]} ****{account[-4:]}"


def aba_checksum_ok(routing_number: str) -> bool:
    """ABA routing number check digit: weights 3, 7, 1 repeated; the sum is a multiple of 10."""
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(routing_number, weights, strict=True)) % 10 == 0


def _err(key: str, code: str, message: str) -> FieldError:
    return FieldError(f"details.{key}", code, message)


def _digits_error(key: str, value: str, *, min_len: int, max_len: int) -> FieldError | None:
    if not _DIGITS.match(value) or not min_len <= len(value) <= max_len:
        size = f"{min_len}" if min_len == max_len else f"{min_len} to {max_len}"
        return _err(key, "invalid_format", f"must be {size} digits")
    return None


def _check_iban(
    details: dict[str, str], currency: str | None, country: str | None
) -> list[FieldError]:
    errors: list[FieldError] = []
    iban: IBAN | None = None
    try:
        with warnings.catch_warnings():
            # Countries without a registered national-checksum algorithm: the IBAN's own
            # mod-97 check digits still apply; the warning only says the national ones could
            # not be checked too.
            warnings.simplefilter("ignore", NationalChecksumNotVerified)
            iban = IBAN(details["iban"], validate_bban=True)
    except (InvalidChecksumDigits, InvalidBBANChecksum):
        errors.append(_err("iban", "invalid_checksum", "the IBAN's check digits are wrong"))
    except InvalidLength:
        errors.append(_err("iban", "invalid_length", "the IBAN has the wrong length"))
    except InvalidCountryCode:
        errors.append(_err("iban", "invalid_country", "the IBAN's country code is unknown"))
    except SchwiftyException:
        errors.append(_err("iban", "invalid_format", "is not a valid IBAN"))

    bic: BIC | None = None
    try:
        bic = BIC(details["bic"])
    except SchwiftyException:
        errors.append(_err("bic", "invalid_format", "is not a valid BIC (8 or 11 characters)"))

    if iban is None:
        return errors
    iban_country = iban.country_code
    if bic is not None and bic.country_code != iban_country:
        errors.append(
            _err(
                "bic",
                "bic_country_mismatch",
                f"the BIC is in {bic.country_code} but the IBAN is in {iban_country}",
            )
        )
    receivable = IBAN_CURRENCIES.get(iban_country)
    if receivable is None:
        errors.append(
            _err("iban", "unsupported_country", f"we do not pay IBANs in {iban_country} yet")
        )
    elif currency is not None and currency not in receivable:
        errors.append(
            FieldError(
                "currency",
                "currency_not_receivable",
                f"an IBAN in {iban_country} receives {', '.join(sorted(receivable))}, "
                f"not {currency}",
            )
        )
    if country is not None and country != iban_country:
        errors.append(
            FieldError(
                "country", "country_mismatch", f"the IBAN is in {iban_country}, not {country}"
            )
        )
    return errors


def _check_gb_sort_code(details: dict[str, str]) -> list[FieldError]:
    errors = [
        _digits_error("sort_code", details["sort_code"], min_len=6, max_len=6),
        _digits_error("account_number", details["account_number"], min_len=8, max_len=8),
    ]
    return [e for e in errors if e]


def _check_us_aba(details: dict[str, str]) -> list[FieldError]:
    errors: list[FieldError] = []
    routing = details["routing_number"]
    if error := _digits_error("routing_number", routing, min_len=9, max_len=9):
        errors.append(error)
    elif not aba_checksum_ok(routing):
        errors.append(
            _err("routing_number", "invalid_checksum", "the ABA routing check digit is wrong")
        )
    if error := _digits_error("account_number", details["account_number"], min_len=4, max_len=17):
        errors.append(error)
    if details["account_type"] not in {"checking", "savings"}:
        errors.append(_err("account_type", "invalid_choice", "must be checking or savings"))
    return errors


def _check_in_ifsc(details: dict[str, str]) -> list[FieldError]:
    errors: list[FieldError] = []
    if not _IFSC.match(details["ifsc"]):
        errors.append(
            _err("ifsc", "invalid_format", "must be 4 letters, a zero, then 6 letters or digits")
        )
    if error := _digits_error("account_number", details["account_number"], min_len=9, max_len=18):
        errors.append(error)
    return errors


_CHECKS: dict[str, Callable[[dict[str, str]], list[FieldError]]] = {
    "gb_sort_code": _check_gb_sort_code,
    "us_aba": _check_us_aba,
    "in_ifsc": _check_in_ifsc,
}


def _clean_details(scheme: str, details: object) -> tuple[dict[str, str] | None, list[FieldError]]:
    """Keys present, none unknown, every value a string; normalised."""
    if not isinstance(details, dict):
        return None, [FieldError("details", "invalid", "must be an object of bank details")]
    expected = SCHEME_KEYS[scheme]
    errors: list[FieldError] = []
    for key in details:
        if key not in expected:
            errors.append(
                FieldError(
                    f"details.{key}",
                    "unknown_field",
                    f"is not a {scheme} field; expected {', '.join(expected)}",
                )
            )
    cleaned: dict[str, str] = {}
    for key in expected:
        value = details.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors.append(_err(key, "required", "is required"))
        elif not isinstance(value, str):
            errors.append(_err(key, "invalid", "must be text"))
        elif key == "account_type":
            cleaned[key] = value.strip().lower()
        else:
            cleaned[key] = normalise(value)
    if errors:
        return None, errors
    return cleaned, []


def beneficiary_input_clean(
    *, holder_name: object, currency: object, country: object, scheme: object, details: object
) -> BeneficiaryInput:
    """Normalise and validate everything; raise ValidationFailed listing every bad field."""
    errors: list[FieldError] = []

    name = holder_name.strip() if isinstance(holder_name, str) else holder_name
    if error := text_error(name, field="holder_name", max_length=140):
        errors.append(error)

    currency_code: str | None = None
    try:
        currency_code = validate_currency(
            currency.strip().upper() if isinstance(currency, str) else currency, field="currency"
        )
    except ValidationFailed as exc:
        errors.extend(exc.fields)

    country_code: str | None = country.strip().upper() if isinstance(country, str) else None
    if error := country_error(country_code or country, field="country"):
        errors.append(error)
        country_code = None

    cleaned: dict[str, str] | None = None
    if not isinstance(scheme, str) or scheme not in SCHEME_KEYS:
        errors.append(
            FieldError(
                "scheme",
                "unknown_scheme",
                f"{scheme!r} is not a scheme we pay; use one of {', '.join(SCHEME_KEYS)}",
            )
        )
    else:
        cleaned, detail_errors = _clean_details(scheme, details)
        errors.extend(detail_errors)
        if cleaned is not None:
            if scheme == "iban":
                errors.extend(_check_iban(cleaned, currency_code, country_code))
            else:
                errors.extend(_CHECKS[scheme](cleaned))
                home_country, home_currency = DOMESTIC_SCHEMES[scheme]
                if currency_code is not None and currency_code != home_currency:
                    errors.append(
                        FieldError(
                            "currency",
                            "currency_not_receivable",
                            f"{scheme} pays {home_currency} only, not {currency_code}",
                        )
                    )
                if country_code is not None and country_code != home_country:
                    errors.append(
                        FieldError(
                            "country",
                            "country_mismatch",
                            f"{scheme} accounts are in {home_country}, not {country_code}",
                        )
                    )

    if errors:
        raise ValidationFailed(errors)
    # Every None/non-str case above added an error, so these casts only inform the type checker.
    scheme, cleaned = cast(str, scheme), cast(dict[str, str], cleaned)
    return BeneficiaryInput(
        holder_name=cast(str, name),
        currency=cast(str, currency_code),
        country=cast(str, country_code),
        scheme=scheme,
        details=cleaned,
        masked_details=mask(scheme, cleaned),
    )
