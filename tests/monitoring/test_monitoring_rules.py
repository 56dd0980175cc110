"""Each rule kind as plain arithmetic: just below, at and above its threshold, and the edges
of its window; impossible configurations refused naming the field. No database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from fintech.monitoring.models import MonitoringRule
from fintech.monitoring.rules import TransferView, evaluate, rule_errors

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
LONG_AGO = NOW - dt.timedelta(days=400)


def rule(kind: str, **fields: Any) -> MonitoringRule:
    fields.setdefault("source_currency", "GBP")
    fields.setdefault("score", 60)
    return MonitoringRule(pk=1, name=f"test {kind}", kind=kind, **fields)


def transfer(amount_minor: int = 10_000, **fields: Any) -> TransferView:
    values: dict[str, Any] = {
        "id": 7,
        "profile_id": 3,
        "profile_kind": "business",
        "source_currency": "GBP",
        "target_currency": "EUR",
        "beneficiary_country": "DE",
        "amount_minor": amount_minor,
        "created_at": NOW,
        "beneficiary_created_at": LONG_AGO,
        "profile_created_at": LONG_AGO,
    }
    return TransferView(**{**values, **fields})


def hits(r: MonitoringRule, t: TransferView, **history: Any) -> bool:
    return evaluate(r, t, history) is not None


@pytest.mark.parametrize(
    ("amount", "hit"), [(999_999, False), (1_000_000, True), (1_000_001, True)]
)
def test_large_amount_at_its_threshold(amount: int, hit: bool) -> None:
    r = rule("large_amount", amount_minor=1_000_000)
    assert hits(r, transfer(amount)) is hit


def test_large_amount_facts_say_what_triggered_it() -> None:
    facts = evaluate(rule("large_amount", amount_minor=1_000_000), transfer(1_250_000), {})
    assert facts == {
        "rule": "test large_amount",
        "kind": "large_amount",
        "currency": "GBP",
        "amount_minor": 1_250_000,
        "threshold_minor": 1_000_000,
    }


@pytest.mark.parametrize(
    ("scope", "hit"),
    [
        ({}, True),
        ({"source_currency": "EUR"}, False),  # amounts in another currency: not this rule's
        ({"target_currency": "EUR"}, True),
        ({"target_currency": "USD"}, False),
        ({"profile_kind": "personal"}, False),
        ({"profile_kind": "business"}, True),
        ({"beneficiary_country": "DE"}, True),
        ({"beneficiary_country": "FR"}, False),
    ],
)
def test_a_rule_judges_only_transfers_in_its_scope(scope: dict[str, str], hit: bool) -> None:
    r = rule("large_amount", amount_minor=100, **scope)
    assert hits(r, transfer(10_000)) is hit


@pytest.mark.parametrize(("count", "hit"), [(4, False), (5, True), (6, True)])
def test_velocity_count_at_its_limit(count: int, hit: bool) -> None:
    r = rule("velocity_count", count=5, window_hours=24, source_currency="")
    assert hits(r, transfer(), count=count) is hit


@pytest.mark.parametrize(("volume", "hit"), [(4_999_999, False), (5_000_000, True)])
def test_velocity_volume_at_its_threshold(volume: int, hit: bool) -> None:
    r = rule("velocity_volume", amount_minor=5_000_000, window_hours=24)
    assert hits(r, transfer(), volume=volume) is hit


@pytest.mark.parametrize(
    ("amount", "in_band", "hit"),
    [
        (899_999, 3, False),  # just below the band
        (900_000, 3, True),  # the band's bottom edge
        (999_999, 3, True),  # just below the threshold
        (1_000_000, 3, False),  # at the threshold: large, not structured
        (950_000, 2, False),  # too few in the band
    ],
)
def test_structuring_counts_amounts_just_below_the_threshold(
    amount: int, in_band: int, hit: bool
) -> None:
    r = rule("structuring", amount_minor=1_000_000, band_minor=100_000, count=3, window_hours=72)
    assert hits(r, transfer(amount), in_band=in_band) is hit


@pytest.mark.parametrize(
    ("age", "amount", "hit"),
    [
        (dt.timedelta(hours=23, minutes=59), 500_000, True),
        (dt.timedelta(hours=24), 500_000, False),  # the window's edge: no longer new
        (dt.timedelta(hours=1), 499_999, False),
    ],
)
def test_new_beneficiary_large(age: dt.timedelta, amount: int, hit: bool) -> None:
    r = rule("new_beneficiary_large", amount_minor=500_000, window_hours=24)
    assert hits(r, transfer(amount, beneficiary_created_at=NOW - age)) is hit


@pytest.mark.parametrize(
    ("amount", "hit"),
    [(500_000, True), (500_100, False), (400_000, False), (1_000_000, True), (499_999, False)],
)
def test_round_amount(amount: int, hit: bool) -> None:
    r = rule("round_amount", amount_minor=500_000, round_unit_minor=100_000)
    assert hits(r, transfer(amount)) is hit


@pytest.mark.parametrize(
    ("country", "amount", "hit"), [("DE", 100, True), ("DE", 99, False), ("FR", 100_000, False)]
)
def test_high_risk_corridor(country: str, amount: int, hit: bool) -> None:
    r = rule("high_risk_corridor", amount_minor=100, beneficiary_country="DE")
    assert hits(r, transfer(amount, beneficiary_country=country)) is hit


@pytest.mark.parametrize(
    ("quiet", "hit"),
    [
        (dt.timedelta(days=90), True),  # exactly the quiet period
        (dt.timedelta(days=90) - dt.timedelta(seconds=1), False),
        (dt.timedelta(days=200), True),
    ],
)
def test_dormant_wakeup_after_the_quiet_period(quiet: dt.timedelta, hit: bool) -> None:
    r = rule("dormant_wakeup", amount_minor=100_000, window_hours=90 * 24)
    assert hits(r, transfer(100_000), last_before=NOW - quiet) is hit


def test_a_new_customer_is_not_dormant() -> None:
    r = rule("dormant_wakeup", amount_minor=100_000, window_hours=90 * 24)
    new = transfer(100_000, profile_created_at=NOW - dt.timedelta(days=3))
    assert not hits(r, new, last_before=None)
    old = transfer(100_000, profile_created_at=NOW - dt.timedelta(days=91))
    assert hits(r, old, last_before=None)


@pytest.mark.parametrize(("senders", "hit"), [(0, False), (3, False), (4, True), (5, True)])
def test_many_senders_one_beneficiary_at_its_count(senders: int, hit: bool) -> None:
    # 0 is what the facts say when the beneficiary's fingerprint is unknown (blank).
    r = rule("many_senders_one_beneficiary", count=4, window_hours=24, source_currency="")
    assert hits(r, transfer(), senders=senders) is hit


def test_many_senders_facts_say_how_many_profiles() -> None:
    r = rule("many_senders_one_beneficiary", count=2, window_hours=24, source_currency="")
    assert evaluate(r, transfer(), {"senders": 3}) == {
        "rule": "test many_senders_one_beneficiary",
        "kind": "many_senders_one_beneficiary",
        "currency": "GBP",
        "senders": 3,
        "limit": 2,
        "window_hours": 24,
    }


# ---------------------------------------------------------------------------------------------
# Impossible rules


def fields_of(r: MonitoringRule) -> dict[str, str]:
    return {e.field: e.code for e in rule_errors(r)}


@pytest.mark.parametrize(
    ("kind", "params", "field", "code"),
    [
        ("large_amount", {"amount_minor": -1}, "amount_minor", "too_small"),
        ("large_amount", {"amount_minor": 0}, "amount_minor", "too_small"),
        ("large_amount", {}, "amount_minor", "required"),
        ("large_amount", {"amount_minor": 10**16}, "amount_minor", "too_large"),
        ("large_amount", {"amount_minor": 5, "count": 3}, "count", "not_used"),
        ("velocity_count", {"count": 5, "window_hours": 0}, "window_hours", "too_small"),
        ("velocity_count", {"count": 0, "window_hours": 24}, "count", "too_small"),
        ("velocity_volume", {"amount_minor": 5}, "window_hours", "required"),
        (
            "structuring",
            {"amount_minor": 100, "band_minor": 100, "count": 3, "window_hours": 24},
            "band_minor",
            "band_too_wide",
        ),
        (
            "structuring",
            {"amount_minor": 100, "band_minor": 10, "count": 1, "window_hours": 24},
            "count",
            "too_small",
        ),
        (
            "round_amount",
            {"amount_minor": 100, "round_unit_minor": 1},
            "round_unit_minor",
            "too_small",
        ),
        ("high_risk_corridor", {"amount_minor": 1}, "beneficiary_country", "required"),
        ("many_senders_one_beneficiary", {"count": 1, "window_hours": 24}, "count", "too_small"),
        ("many_senders_one_beneficiary", {"count": 5}, "window_hours", "required"),
        ("many_senders_one_beneficiary", {"window_hours": 24}, "count", "required"),
        (
            "many_senders_one_beneficiary",
            {"count": 5, "window_hours": 24, "amount_minor": 100},
            "amount_minor",
            "not_used",
        ),
        (
            "many_senders_one_beneficiary",
            {"count": 5, "window_hours": 24 * 366 * 3 + 1},
            "window_hours",
            "too_large",
        ),
    ],
)
def test_an_impossible_rule_is_refused_naming_the_field(
    kind: str, params: dict[str, int], field: str, code: str
) -> None:
    assert fields_of(rule(kind, **params))[field] == code


def test_amount_rules_need_their_currency_and_a_sane_score() -> None:
    errors = fields_of(rule("large_amount", amount_minor=100, source_currency="", score=0))
    assert errors == {"source_currency": "required", "score": "invalid"}
    assert fields_of(rule("large_amount", amount_minor=100, source_currency="XYZ")) == {
        "source_currency": "unsupported_currency"
    }


def test_a_sane_rule_of_every_kind_passes() -> None:
    sane = [
        rule("large_amount", amount_minor=1_000_000),
        rule("velocity_count", count=10, window_hours=24, source_currency=""),
        rule("velocity_volume", amount_minor=5_000_000, window_hours=24),
        rule("structuring", amount_minor=1_000_000, band_minor=100_000, count=3, window_hours=72),
        rule("new_beneficiary_large", amount_minor=500_000, window_hours=48),
        rule("round_amount", amount_minor=500_000, round_unit_minor=100_000),
        rule("high_risk_corridor", amount_minor=1, beneficiary_country="IR"),
        rule("dormant_wakeup", amount_minor=100_000, window_hours=24 * 180),
        rule("many_senders_one_beneficiary", count=2, window_hours=24, source_currency=""),
    ]
    assert [rule_errors(r) for r in sane] == [[]] * len(sane)
