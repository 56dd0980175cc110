"""Validation of profile fields: every bad field is reported at once, each with its name."""

from __future__ import annotations

from dataclasses import dataclass

import pycountry
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from fintech.core.errors import FieldError, ValidationFailed
from fintech.customers.models import Profile


@dataclass(frozen=True, slots=True)
class ProfileInput:
    kind: str
    legal_name: str
    registration_number: str
    country: str
    address_line1: str
    address_line2: str
    city: str
    postal_code: str
    email: str


def country_error(value: object, *, field: str) -> FieldError | None:
    """None when `value` is an upper-case ISO 3166-1 alpha-2 code, else the error naming `field`."""
    if (
        isinstance(value, str)
        and len(value) == 2
        and value.isupper()
        and pycountry.countries.get(alpha_2=value) is not None
    ):
        return None
    return FieldError(field, "invalid_country", f"{value!r} is not an ISO 3166-1 alpha-2 code")


def text_error(
    value: object, *, field: str, max_length: int, required: bool = True
) -> FieldError | None:
    if not isinstance(value, str):
        return FieldError(field, "invalid", "must be text")
    if required and not value:
        return FieldError(field, "required", "is required")
    if len(value) > max_length:
        return FieldError(field, "too_long", f"must be at most {max_length} characters")
    if not value.isprintable():
        return FieldError(field, "invalid_characters", "must not contain control characters")
    return None


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def profile_input_clean(
    *,
    kind: object,
    legal_name: object,
    registration_number: object,
    country: object,
    address_line1: object,
    address_line2: object,
    city: object,
    postal_code: object,
    email: object,
) -> ProfileInput:
    """Normalise (strip, upper-case country and registration number, lower-case email domain)
    and validate; raise ValidationFailed listing every bad field."""
    kind = _strip(kind)
    legal_name = _strip(legal_name)
    registration_number = _strip(registration_number)
    country = _strip(country)
    if isinstance(country, str):
        country = country.upper()
    if isinstance(registration_number, str):
        registration_number = registration_number.upper()
    address_line1, address_line2 = _strip(address_line1), _strip(address_line2)
    city, postal_code, email = _strip(city), _strip(postal_code), _strip(email)

    errors: list[FieldError] = []
    if kind not in Profile.Kind.values:
        errors.append(
            FieldError("kind", "invalid_choice", f"must be one of {', '.join(Profile.Kind.values)}")
        )
    for name, value, max_length, required in (
        ("legal_name", legal_name, 200, True),
        ("address_line1", address_line1, 200, True),
        ("address_line2", address_line2, 200, False),
        ("city", city, 100, True),
        ("postal_code", postal_code, 20, False),
    ):
        if error := text_error(value, field=name, max_length=max_length, required=required):
            errors.append(error)

    reg_error = text_error(registration_number, field="registration_number", max_length=50,
                           required=False)  # fmt: skip
    if reg_error:
        errors.append(reg_error)
    elif kind == Profile.Kind.BUSINESS and not registration_number:
        errors.append(
            FieldError("registration_number", "required", "a business needs a registration number")
        )
    elif kind == Profile.Kind.PERSONAL and registration_number:
        errors.append(
            FieldError(
                "registration_number", "not_allowed", "only businesses have a registration number"
            )
        )

    if error := country_error(country, field="country"):
        errors.append(error)

    if isinstance(email, str) and "@" in email:
        local, _, domain = email.rpartition("@")
        email = f"{local}@{domain.lower()}"
    try:
        if not isinstance(email, str) or len(email) > 254:
            raise ValidationError("invalid")
        validate_email(email)
    except ValidationError:
        errors.append(FieldError("email", "invalid_email", f"{email!r} is not an email address"))

    if errors:
        raise ValidationFailed(errors)
    return ProfileInput(
        kind=str(kind),
        legal_name=str(legal_name),
        registration_number=str(registration_number),
        country=str(country),
        address_line1=str(address_line1),
        address_line2=str(address_line2),
        city=str(city),
        postal_code=str(postal_code),
        email=str(email),
    )
