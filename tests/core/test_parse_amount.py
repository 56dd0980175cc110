"""parse_amount: the one reading of an amount string, for every caller (API, admin, services)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fintech.core.errors import ValidationFailed
from fintech.core.money import amount_pattern, parse_amount
from ledger.currency import currency_exponent


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("10.00", "GBP", 1000),
        ("10", "GBP", 1000),
        ("0.01", "GBP", 1),
        ("007.50", "EUR", 750),
        ("12.345", "KWD", 12345),
        ("98765", "JPY", 98765),
        (25, "GBP", 2500),
        (Decimal("1E+3"), "GBP", 100000),  # our own Decimals: read as their plain digits
    ],
)
def test_it_reads_ascii_digits_and_one_point(value, currency, minor) -> None:
    assert parse_amount(value, currency=currency, field="source_amount") == minor


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (" 10.00 ", "invalid_amount"),  # whitespace was stripped before: not any more
        ("10.00\n", "invalid_amount"),  # `$` would have let a trailing newline through
        ("\t10", "invalid_amount"),
        ("\u0661\u0660", "invalid_amount"),  # Arabic-Indic digits: Decimal reads them as 10
        ("\u0967\u0966.\u0966\u0966", "invalid_amount"),  # Devanagari
        ("\uff11\uff10", "invalid_amount"),  # fullwidth
        ("+10", "invalid_amount"),
        ("-10", "amount_not_positive"),
        ("1e3", "invalid_amount"),
        ("1E+3", "invalid_amount"),
        ("10.", "invalid_amount"),
        (".5", "invalid_amount"),
        ("1.2.3", "invalid_amount"),
        ("1_000", "invalid_amount"),
        ("1,000.00", "invalid_amount"),
        ("NaN", "invalid_amount"),
        ("Infinity", "invalid_amount"),
        ("", "invalid_amount"),
        ("10.001", "too_many_decimals"),
        ("0", "amount_not_positive"),
        ("0.00", "amount_not_positive"),
        ("1000000000.01", "amount_too_large"),
        (10.5, "invalid_amount"),  # floats lose cents: never
        (True, "invalid_amount"),
    ],
)
def test_it_refuses_anything_else_naming_the_field(value, code) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_amount(value, currency="GBP", field="target_amount")
    [error] = refused.value.fields
    assert (error.field, error.code) == ("target_amount", code)


def test_it_refuses_decimals_a_currency_does_not_have() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_amount("100.0", currency="JPY", field="source_amount")
    assert refused.value.fields[0].code == "too_many_decimals"


@pytest.mark.parametrize("currency", ["JPY", "GBP", "KWD"])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_the_schema_pattern_is_exactly_what_it_accepts(currency, data) -> None:
    """amount_pattern (declared in the OpenAPI document) and parse_amount agree both ways."""
    pattern = amount_pattern(currency_exponent(currency))
    matching = data.draw(st.from_regex(pattern, fullmatch=True))
    assert parse_amount(matching, currency=currency, field="amount") > 0
    other = data.draw(st.text(alphabet="0123456789.-+ e\u0661", max_size=14))
    accepted = True
    try:
        parse_amount(other, currency=currency, field="amount")
    except ValidationFailed:
        accepted = False
    assert accepted == bool(re.fullmatch(pattern, other)), other
