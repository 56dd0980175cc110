"""Money: integer minor units beside an ISO 4217 code. No floats anywhere.

Exponents come from ISO 4217 data (the `iso4217` package), never from a display
library: babel's and CLDR's digits differ from ISO for some currencies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from fintech.core.errors import FieldError, ValidationFailed

# One source for ISO 4217 exponents: the ledger's (it cannot import us; we can import it).
from ledger.currency import currency_exponent

# Currencies the platform moves money in. A new currency is a line here (and rates for it).
SUPPORTED_CURRENCIES: tuple[str, ...] = (
    "GBP", "EUR", "USD", "INR", "JPY", "CHF", "AUD", "CAD", "SGD", "HKD", "KWD", "PLN", "SEK",
)  # fmt: skip

# Above this many major units a single amount is absurd for this product.
MAX_MAJOR_UNITS = Decimal("1000000000")

# ASCII digits, an optional single point with digits after it: nothing else. Not `\d` (it
# matches Arabic-Indic and other digits, which Decimal accepts) and no whitespace, sign or
# exponent. The count of decimals is checked per currency below.
_DECIMAL_STRING = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def is_supported_currency(code: str) -> bool:
    return code in SUPPORTED_CURRENCIES


def validate_currency(code: object, *, field: str) -> str:
    if not isinstance(code, str) or code.upper() != code or not is_supported_currency(code):
        raise ValidationFailed(
            [
                FieldError(
                    field,
                    "unsupported_currency",
                    f"{code!r} is not a supported currency; use one of "
                    + ", ".join(SUPPORTED_CURRENCIES),
                )
            ]
        )
    return code


def parse_amount(value: object, *, currency: str, field: str) -> int:
    """A decimal string in major units ("1000.50") to positive integer minor units.

    Refuses floats, anything but ASCII digits and one point (whitespace, signs, exponents,
    other scripts' digits), too many decimals for the currency, zero and absurd sizes, naming
    the field. Integers and Decimals from our own code are read as their plain digits.
    """

    def fail(code: str, message: str) -> ValidationFailed:
        return ValidationFailed([FieldError(field, code, message)])

    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise fail("invalid_amount", 'amount must be a decimal string such as "1000.50"')
    text = (
        value if isinstance(value, str) else str(value) if isinstance(value, int) else f"{value:f}"
    )
    if text.startswith("-") and _DECIMAL_STRING.fullmatch(text[1:]):
        raise fail("amount_not_positive", "amount must be greater than zero")
    if not _DECIMAL_STRING.fullmatch(text):
        raise fail("invalid_amount", f'{text!r} is not a decimal amount such as "1000.50"')
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise fail("invalid_amount", f"{text!r} is not a decimal amount") from exc
    exponent = currency_exponent(currency)
    if amount.as_tuple().exponent < -exponent:  # type: ignore[operator]
        raise fail(
            "too_many_decimals", f"{currency} has {exponent} decimal places; {text!r} has more"
        )
    if amount <= 0:
        raise fail("amount_not_positive", "amount must be greater than zero")
    if amount > MAX_MAJOR_UNITS:
        raise fail("amount_too_large", f"amount must be at most {MAX_MAJOR_UNITS} {currency}")
    return int(amount.scaleb(exponent))


def amount_pattern(decimals: int) -> str:
    """The regular expression (ECMA-262 and Python alike) of exactly the strings parse_amount
    accepts for a currency with `decimals` places: positive, at most MAX_MAJOR_UNITS, ASCII
    digits and one point. The OpenAPI document declares it, so the two cannot drift."""
    whole_digits = len(str(int(MAX_MAJOR_UNITS))) - 1  # 9: below 10**9 is any 1 to 9 digits
    below_max = f"0*[1-9][0-9]{{0,{whole_digits - 1}}}"
    if decimals == 0:
        return f"^(?:{below_max}|0*{int(MAX_MAJOR_UNITS)})$"
    fraction = f"(?:\\.[0-9]{{1,{decimals}}})?"
    # Below one: zeros, a point, then decimals with at least one non-zero digit.
    nonzero_fraction = "|".join(
        f"0{{{zeros}}}[1-9][0-9]{{0,{decimals - 1 - zeros}}}" for zeros in range(decimals)
    )
    return (
        f"^(?:{below_max}{fraction}|0*{int(MAX_MAJOR_UNITS)}(?:\\.0{{1,{decimals}}})?"
        f"|0+\\.(?:{nonzero_fraction}))$"
    )


def format_minor(amount_minor: int, currency: str) -> str:
    """Integer minor units to the API's decimal string in major units."""
    exponent = currency_exponent(currency)
    return str(Decimal(amount_minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent)))


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str

    def __str__(self) -> str:
        return f"{format_minor(self.amount_minor, self.currency)} {self.currency}"


def convert_minor(
    amount_minor: int, *, rate: Decimal, source: str, target: str, rounding: str = ROUND_HALF_EVEN
) -> int:
    """Convert minor units of `source` at `rate` (target per source) to minor units of `target`,
    rounding once with the named mode."""
    major = Decimal(amount_minor).scaleb(-currency_exponent(source)) * rate
    return int(major.scaleb(currency_exponent(target)).quantize(Decimal(1), rounding=rounding))


def allocate(amount_minor: int, weights: list[int]) -> list[int]:
    """Split an amount by integer weights so the parts sum exactly (largest remainders first)."""
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError("weights must be non-negative and not all zero")
    total = sum(weights)
    parts = [amount_minor * w // total for w in weights]
    remainders = sorted(
        range(len(weights)), key=lambda i: (amount_minor * weights[i]) % total, reverse=True
    )
    for i in remainders[: amount_minor - sum(parts)]:
        parts[i] += 1
    return parts
