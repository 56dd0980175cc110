"""Pricing a quote: our fee, our FX margin, the conversion and its rounding, the delivery estimate.

Pure functions over integers (minor units) and Decimals: no database, no clock of their own,
so each rule is easy to test and to explain to a customer or an auditor.

The rules:
- fee = fixed + bps of the *source amount* (what the customer pays), in the source currency;
  the percentage part is rounded half-even to the minor unit;
- customer rate = mid x (1 - margin_bps / 10 000), 10 decimal places, half-even;
- fixed source: target = (source - fee) x customer rate, rounded once, half-even;
- fixed target: the amount to convert = target / customer rate, rounded once half-even (to the
  nearest minor unit, not up: the beneficiary gets exactly the target and we carry the
  sub-minor-unit difference either way); then source = (converted + fixed) / (1 - bps), rounded
  half-even, so the fee is the schedule applied to the source amount to within one minor unit,
  and fee = source - converted exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from fintech.core.errors import FieldError, ValidationFailed
from fintech.core.money import SUPPORTED_CURRENCIES, convert_minor, currency_exponent
from fintech.quotes.rates import RATE_PLACES

ROUNDING_MODE = ROUND_HALF_EVEN
BPS = Decimal(10_000)

# Our FX margin below mid, in basis points (40 bps = 0.40 %).
MARGIN_BPS = 40


@dataclass(frozen=True, slots=True)
class FeeRule:
    fixed: Decimal  # major units of the source currency
    bps: int  # of the source amount

    def fixed_minor(self, currency: str) -> int:
        return int(self.fixed.scaleb(currency_exponent(currency)))


# Per source currency. A new supported currency needs a line here.
FEE_SCHEDULE: dict[str, FeeRule] = {
    "GBP": FeeRule(Decimal("0.50"), 35),
    "EUR": FeeRule(Decimal("0.60"), 35),
    "USD": FeeRule(Decimal("0.70"), 35),
    "INR": FeeRule(Decimal("50.00"), 50),
    "JPY": FeeRule(Decimal("100"), 40),
    "CHF": FeeRule(Decimal("0.70"), 35),
    "AUD": FeeRule(Decimal("1.00"), 45),
    "CAD": FeeRule(Decimal("0.90"), 45),
    "SGD": FeeRule(Decimal("0.90"), 45),
    "HKD": FeeRule(Decimal("5.00"), 45),
    "KWD": FeeRule(Decimal("0.200"), 40),
    "PLN": FeeRule(Decimal("3.00"), 40),
    "SEK": FeeRule(Decimal("7.00"), 40),
}

# Business days from quote to money in the beneficiary's account, by target currency.
DELIVERY_BUSINESS_DAYS: dict[str, int] = {
    "GBP": 0,
    "EUR": 1,
    "USD": 1,
    "INR": 1,
    "JPY": 2,
    "CHF": 1,
    "AUD": 1,
    "CAD": 1,
    "SGD": 1,
    "HKD": 1,
    "KWD": 2,
    "PLN": 1,
    "SEK": 1,
}


@dataclass(frozen=True, slots=True)
class Price:
    source_amount_minor: int  # what the customer pays, fee included
    target_amount_minor: int  # what the beneficiary receives
    fee_minor: int  # ours, in the source currency
    customer_rate: Decimal
    fee_rule: FeeRule


def customer_rate(mid: Decimal, *, margin_bps: int = MARGIN_BPS) -> Decimal:
    return (mid * (BPS - margin_bps) / BPS).quantize(RATE_PLACES, rounding=ROUNDING_MODE)


def fee_for(source_minor: int, rule: FeeRule, *, currency: str) -> int:
    variable = (Decimal(source_minor) * rule.bps / BPS).quantize(Decimal(1), rounding=ROUNDING_MODE)
    return rule.fixed_minor(currency) + int(variable)


def _invalid(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(field, code, message)])


def price_fixed_source(*, source_minor: int, source: str, target: str, mid: Decimal) -> Price:
    rule = FEE_SCHEDULE[source]
    rate = customer_rate(mid)
    fee = fee_for(source_minor, rule, currency=source)
    converted = source_minor - fee
    if converted <= 0:
        raise _invalid(
            "source_amount", "amount_below_fee", f"amount must be more than the {source} fee"
        )
    target_minor = convert_minor(
        converted, rate=rate, source=source, target=target, rounding=ROUNDING_MODE
    )
    if target_minor <= 0:
        raise _invalid(
            "source_amount", "amount_too_small", f"amount converts to nothing in {target}"
        )
    return Price(source_minor, target_minor, fee, rate, rule)


def price_fixed_target(*, target_minor: int, source: str, target: str, mid: Decimal) -> Price:
    rule = FEE_SCHEDULE[source]
    rate = customer_rate(mid)
    target_major = Decimal(target_minor).scaleb(-currency_exponent(target))
    converted = int(
        (target_major / rate)
        .scaleb(currency_exponent(source))
        .quantize(Decimal(1), rounding=ROUNDING_MODE)
    )
    if converted <= 0:
        raise _invalid(
            "target_amount", "amount_too_small", f"amount is less than the smallest {source} unit"
        )
    source_minor = int(
        ((converted + rule.fixed_minor(source)) * BPS / (BPS - rule.bps)).quantize(
            Decimal(1), rounding=ROUNDING_MODE
        )
    )
    return Price(source_minor, target_minor, source_minor - converted, rate, rule)


def delivery_estimate(*, target: str, start: dt.datetime) -> dt.datetime:
    """`start` plus the target currency's business days (weekends skipped; a weekend start
    with 0 days rolls to Monday). Bank holidays are not modelled yet."""
    days = DELIVERY_BUSINESS_DAYS[target]
    moment = start
    while moment.weekday() >= 5:
        moment += dt.timedelta(days=1)
    while days > 0:
        moment += dt.timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


def _check_tables_cover_supported_currencies() -> None:
    for table in (FEE_SCHEDULE, DELIVERY_BUSINESS_DAYS):
        missing = set(SUPPORTED_CURRENCIES) - set(table)
        if missing:  # pragma: no cover - a developer adding a currency sees this at import
            raise RuntimeError(f"pricing tables miss {sorted(missing)}")


_check_tables_cover_supported_currencies()
