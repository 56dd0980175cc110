"""quote_create: exact minor units on both sides, the rate and fee recorded, bad input refused.

Expected amounts are computed here, from the published price list restated below and the
provider's mid rate, with the rounding each step names. They are not copied from output.
"""

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
import time_machine

from fintech.core.errors import ValidationFailed
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.core.services import Actor
from fintech.quotes.models import Quote
from fintech.quotes.rates import SandboxRateProvider
from fintech.quotes.services import quote_create

pytestmark = pytest.mark.django_db

ALICE = Actor(label="user:alice", request_id="req-alice")
FRIDAY = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)

# The published price list, restated: changing the real one must be a deliberate act.
FEES = {"GBP": ("0.50", 35), "JPY": ("100", 40), "KWD": ("0.200", 40), "USD": ("0.70", 35)}
MARGIN_BPS = 40
EXPONENT = {"GBP": 2, "EUR": 2, "USD": 2, "JPY": 0, "KWD": 3, "INR": 2}


def half_even(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def to_minor(amount: str, currency: str) -> int:
    return int(Decimal(amount).scaleb(EXPONENT[currency]))


def customer_rate(mid: Decimal) -> Decimal:
    return (mid * (1 - Decimal(MARGIN_BPS) / 10_000)).quantize(
        Decimal("1E-10"), rounding=ROUND_HALF_EVEN
    )


def scheduled_fee(source_minor: int, currency: str) -> int:
    fixed, bps = FEES[currency]
    return to_minor(fixed, currency) + half_even(Decimal(source_minor) * bps / 10_000)


def expected_fixed_source(amount: str, source: str, target: str, mid: Decimal):
    source_minor = to_minor(amount, source)
    fee = scheduled_fee(source_minor, source)
    converted_major = Decimal(source_minor - fee).scaleb(-EXPONENT[source])
    target_minor = half_even((converted_major * customer_rate(mid)).scaleb(EXPONENT[target]))
    return source_minor, target_minor, fee


def expected_fixed_target(amount: str, source: str, target: str, mid: Decimal):
    target_minor = to_minor(amount, target)
    converted = half_even(
        (Decimal(target_minor).scaleb(-EXPONENT[target]) / customer_rate(mid)).scaleb(
            EXPONENT[source]
        )
    )
    fixed, bps = FEES[source]
    source_minor = half_even((converted + to_minor(fixed, source)) / (1 - Decimal(bps) / 10_000))
    return source_minor, target_minor, source_minor - converted


def sandbox_mid(source: str, target: str) -> Decimal:
    return SandboxRateProvider().mid_rate(source, target).rate


def test_worked_example_gbp_to_eur_with_the_source_fixed(alice, fixed_rates_provider) -> None:
    fixed_rates_provider[("GBP", "EUR")] = Decimal("1.17")
    quote = quote_create(
        actor=ALICE,
        profile=alice,
        source_currency="GBP",
        target_currency="EUR",
        source_amount="1000.00",
    )
    # fee = 0.50 + 0.35 % of 1000.00 = 0.50 + 3.50 = 4.00 GBP; 996.00 GBP is converted
    # customer rate = 1.17 x (1 - 0.0040) = 1.16532
    # 996.00 x 1.16532 = 1160.65872 EUR -> 1160.66 (half-even)
    assert (quote.source_amount_minor, quote.fee_minor, quote.target_amount_minor) == (
        100000,
        400,
        116066,
    )
    assert quote.customer_rate == Decimal("1.16532")
    assert quote.mid_rate == Decimal("1.17")
    assert quote.rate_source == "fixed-test"


def test_worked_example_gbp_to_eur_with_the_target_fixed(alice, fixed_rates_provider) -> None:
    fixed_rates_provider[("GBP", "EUR")] = Decimal("1.17")
    quote = quote_create(
        actor=ALICE,
        profile=alice,
        source_currency="GBP",
        target_currency="EUR",
        target_amount="1000.00",
    )
    # converted = 1000.00 / 1.16532 = 858.1333... GBP -> 858.13 (half-even)
    # source = (858.13 + 0.50) / (1 - 0.0035) = 861.6457... -> 861.65; fee = 3.52
    # (the schedule on 861.65 would be 0.50 + 3.0158 = 3.52: equal here, within 0.01 always)
    assert (quote.source_amount_minor, quote.fee_minor, quote.target_amount_minor) == (
        86165,
        352,
        100000,
    )
    assert quote.fixed_side == Quote.FixedSide.TARGET


@pytest.mark.parametrize(
    ("source", "target", "amount"),
    [
        ("GBP", "EUR", "1234.56"),
        ("GBP", "JPY", "250.00"),  # into 0 decimals
        ("JPY", "GBP", "98765"),  # from 0 decimals
        ("KWD", "USD", "12.345"),  # from 3 decimals
        ("USD", "KWD", "999.99"),  # into 3 decimals
        ("JPY", "KWD", "1000000"),  # 0 to 3 decimals
        ("KWD", "JPY", "0.750"),  # 3 to 0 decimals
    ],
)
def test_a_fixed_source_amount_converts_exactly(alice, source, target, amount) -> None:
    quote = quote_create(
        actor=ALICE,
        profile=alice,
        source_currency=source,
        target_currency=target,
        source_amount=amount,
    )
    expected = expected_fixed_source(amount, source, target, sandbox_mid(source, target))
    assert (quote.source_amount_minor, quote.target_amount_minor, quote.fee_minor) == expected
    assert quote.fixed_side == Quote.FixedSide.SOURCE


@pytest.mark.parametrize(
    ("source", "target", "amount"),
    [
        ("GBP", "EUR", "1000.00"),
        ("JPY", "GBP", "100.00"),  # paid in a 0-decimal currency
        ("GBP", "JPY", "50000"),  # received in a 0-decimal currency
        ("USD", "KWD", "1000.500"),  # received in a 3-decimal currency
        ("KWD", "INR", "250000.00"),  # paid in a 3-decimal currency
    ],
)
def test_a_fixed_target_amount_is_paid_exactly(alice, source, target, amount) -> None:
    quote = quote_create(
        actor=ALICE,
        profile=alice,
        source_currency=source,
        target_currency=target,
        target_amount=amount,
    )
    expected = expected_fixed_target(amount, source, target, sandbox_mid(source, target))
    assert (quote.source_amount_minor, quote.target_amount_minor, quote.fee_minor) == expected
    # The fee is the schedule applied to what the customer pays, to within one minor unit.
    assert abs(quote.fee_minor - scheduled_fee(quote.source_amount_minor, source)) <= 1


def test_it_records_the_rate_margin_rounding_expiry_and_delivery(alice, settings) -> None:
    settings.QUOTE_TTL_SECONDS = 600
    with time_machine.travel(FRIDAY, tick=False):
        quote = quote_create(
            actor=ALICE,
            profile=alice,
            source_currency="GBP",
            target_currency="EUR",
            source_amount="100.00",
        )
    quote.refresh_from_db()
    mid = sandbox_mid("GBP", "EUR")
    assert quote.mid_rate == mid
    assert quote.customer_rate == customer_rate(mid)
    assert quote.margin_bps == MARGIN_BPS
    assert quote.rounding_mode == "ROUND_HALF_EVEN"
    assert quote.rate_source == "sandbox"
    assert quote.rate_time == FRIDAY
    assert quote.expires_at == FRIDAY + dt.timedelta(seconds=600)
    assert (quote.fee_fixed_minor, quote.fee_bps) == (50, 35)
    # EUR arrives in one business day: Friday -> Monday.
    assert quote.delivery_estimate == FRIDAY + dt.timedelta(days=3)
    assert quote.profile == alice


@pytest.mark.parametrize(
    ("when", "target", "expected"),
    [
        (FRIDAY, "GBP", FRIDAY),  # same day
        (FRIDAY + dt.timedelta(days=1), "GBP", FRIDAY + dt.timedelta(days=3)),  # Sat -> Mon
        (FRIDAY - dt.timedelta(days=1), "JPY", FRIDAY + dt.timedelta(days=3)),  # Thu +2 -> Mon
        (FRIDAY - dt.timedelta(days=4), "USD", FRIDAY - dt.timedelta(days=3)),  # Mon +1 -> Tue
    ],
)
def test_the_delivery_estimate_counts_business_days(alice, when, target, expected) -> None:
    source = "EUR" if target == "GBP" else "GBP"
    with time_machine.travel(when, tick=False):
        quote = quote_create(
            actor=ALICE,
            profile=alice,
            source_currency=source,
            target_currency=target,
            source_amount="100.00",
        )
    assert quote.delivery_estimate == expected


def test_it_writes_an_audit_row_and_a_quote_created_event(alice) -> None:
    quote = quote_create(
        actor=ALICE,
        profile=alice,
        source_currency="GBP",
        target_currency="JPY",
        source_amount="10.00",
    )
    audit = AuditEvent.objects.get(action="quote.create", target_id=str(quote.pk))
    assert (audit.actor_label, audit.request_id, audit.target_type) == (
        "user:alice",
        "req-alice",
        "quotes.quote",
    )
    event = OutboxEvent.objects.get(type="quote.created", payload__id=str(quote.pk))
    assert event.profile_id == alice.pk
    assert event.payload["source_amount"] == "10.00"
    assert event.payload["target_currency"] == "JPY"
    assert event.payload["target_amount"] == str(quote.target_amount_minor)  # JPY: no decimals


GOOD = {"source_currency": "GBP", "target_currency": "EUR", "source_amount": "100.00"}


def _with(**changes):
    data = {**GOOD, **changes}
    return {k: v for k, v in data.items() if v is not ...}


BAD_REQUESTS = [
    pytest.param(
        _with(target_amount="100.00"),
        {"source_amount", "target_amount"},
        "exactly_one_amount",
        id="both-amounts",
    ),
    pytest.param(
        _with(source_amount=...),
        {"source_amount", "target_amount"},
        "exactly_one_amount",
        id="no-amount",
    ),
    pytest.param(
        _with(source_currency="XXX"), {"source_currency"}, "unsupported_currency", id="xxx"
    ),
    pytest.param(
        _with(source_currency="gbp"), {"source_currency"}, "unsupported_currency", id="lower"
    ),
    pytest.param(
        _with(source_currency=None), {"source_currency"}, "unsupported_currency", id="none"
    ),
    pytest.param(
        _with(target_currency="XAU"), {"target_currency"}, "unsupported_currency", id="gold"
    ),
    pytest.param(_with(target_currency="GBP"), {"target_currency"}, "same_currency", id="same"),
    pytest.param(
        _with(source_amount="10.001"), {"source_amount"}, "too_many_decimals", id="gbp-3dp"
    ),
    pytest.param(
        _with(source_currency="JPY", source_amount="100.5"),
        {"source_amount"},
        "too_many_decimals",
        id="jpy-1dp",
    ),
    pytest.param(
        _with(source_currency="KWD", source_amount="1.2345"),
        {"source_amount"},
        "too_many_decimals",
        id="kwd-4dp",
    ),
    pytest.param(
        _with(source_amount=..., target_currency="KWD", target_amount="1.0001"),
        {"target_amount"},
        "too_many_decimals",
        id="kwd-target-4dp",
    ),
    pytest.param(
        _with(source_amount=..., target_amount="0"),
        {"target_amount"},
        "amount_not_positive",
        id="zero-target",
    ),
    pytest.param(_with(source_amount="0.00"), {"source_amount"}, "amount_not_positive", id="zero"),
    pytest.param(
        _with(source_amount="-5.00"), {"source_amount"}, "amount_not_positive", id="negative"
    ),
    pytest.param(
        _with(source_amount="1000000000.01"),
        {"source_amount"},
        "amount_too_large",
        id="absurd",
    ),
    pytest.param(_with(source_amount="ten"), {"source_amount"}, "invalid_amount", id="words"),
    pytest.param(
        _with(source_amount=10.5), {"source_amount"}, "invalid_amount", id="float-refused"
    ),
    pytest.param(_with(source_amount="1e3"), {"source_amount"}, "invalid_amount", id="exponent"),
    pytest.param(
        _with(source_amount="0.40"), {"source_amount"}, "amount_below_fee", id="below-fee"
    ),
]


@pytest.mark.parametrize(("request_data", "fields", "code"), BAD_REQUESTS)
def test_a_bad_request_names_its_field_and_saves_nothing(alice, request_data, fields, code) -> None:
    counts = (Quote.objects.count(), AuditEvent.objects.count(), OutboxEvent.objects.count())
    with pytest.raises(ValidationFailed) as excinfo:
        quote_create(actor=ALICE, profile=alice, **request_data)
    assert {f.field for f in excinfo.value.fields} == fields
    assert {f.code for f in excinfo.value.fields} == {code}
    for field in fields:
        assert field in excinfo.value.message
    assert (
        Quote.objects.count(),
        AuditEvent.objects.count(),
        OutboxEvent.objects.count(),
    ) == counts


def test_both_currencies_wrong_are_both_named(alice) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        quote_create(
            actor=ALICE,
            profile=alice,
            source_currency="ABC",
            target_currency="DEF",
            source_amount="1.00",
        )
    assert {f.field for f in excinfo.value.fields} == {"source_currency", "target_currency"}
