"""The one normalised shape every parser returns, and the helpers they share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from fintech.core.errors import FieldError, ValidationFailed
from ledger.currency import currency_exponent
from ledger.errors import InvalidCurrency

RAW_EXCERPT_CHARS = 2000
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ParsedBalance:
    amount_minor: int  # signed: negative is a debit balance (overdrawn)
    currency: str
    date: date | None


@dataclass(frozen=True, slots=True)
class ParsedLine:
    amount_minor: int  # signed: + money in (credit), - money out (debit)
    currency: str
    value_date: date | None
    booking_date: date | None
    bank_reference: str = ""
    end_to_end_id: str = ""
    uetr: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""
    remittance_info: str = ""
    raw: str = ""


@dataclass(frozen=True, slots=True)
class ParsedStatement:
    format: str  # camt053 | camt054 | mt940 | csv
    statement_id: str
    account_number: str
    currency: str  # the account's currency as the file states it ("" when it does not)
    sequence_number: str = ""
    opening: ParsedBalance | None = None
    closing: ParsedBalance | None = None
    lines: list[ParsedLine] = field(default_factory=list)


def refuse(where: str, code: str, message: str) -> ValidationFailed:
    """A refusal naming where in the file (file name, line, field) the problem is."""
    return ValidationFailed([FieldError(where, code, message)])


def normalise_account(text: str) -> str:
    return re.sub(r"\s+", "", text or "").upper()


def to_minor(amount: Decimal | str, currency: str, *, where: str) -> int:
    """A decimal amount in major units to integer minor units of `currency`; never float.
    Trailing zeros beyond the exponent are fine ("8.85000" EUR is 885); significant digits
    beyond it are refused, never rounded."""
    try:
        exponent = currency_exponent(currency)
    except InvalidCurrency as exc:
        raise refuse(
            where, "unknown_currency", f"{currency!r} is not an ISO 4217 currency"
        ) from exc
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(amount.strip())
    except InvalidOperation as exc:
        raise refuse(where, "invalid_amount", f"{amount!r} is not a decimal amount") from exc
    if not value.is_finite():
        raise refuse(where, "invalid_amount", f"{amount!r} is not a decimal amount")
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise refuse(
            where, "too_many_decimals", f"{amount} has more decimals than {currency}'s {exponent}"
        )
    return int(scaled)


def excerpt(text: str) -> str:
    return text if len(text) <= RAW_EXCERPT_CHARS else text[:RAW_EXCERPT_CHARS] + "…"
