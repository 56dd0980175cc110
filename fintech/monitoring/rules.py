"""The rule kinds as tables and pure functions: which parameters each kind takes, what makes a
rule impossible, and whether a transfer (with the history facts read for it) triggers it.

No database here: `facts.py` reads a transfer and its history in one query per batch and
hands `TransferView` and a history dict to `evaluate`, so every boundary is testable as plain
arithmetic and the transfer flow and the nightly run judge alike.

Windows are half-open, ending at the transfer: (created_at - window, created_at]. A transfer
exactly `window_hours` before is outside it. Thresholds are reached at equality (an amount
equal to `amount_minor` is large).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fintech.core.errors import FieldError
from fintech.core.money import is_supported_currency
from fintech.monitoring.kinds import RuleKind

PARAMETERS = ("amount_minor", "band_minor", "round_unit_minor", "count", "window_hours")

# What each kind needs; every other parameter must be left blank (a value there would be
# silently ignored, which an operator would read as configured).
REQUIRED: dict[str, tuple[str, ...]] = {
    RuleKind.LARGE_AMOUNT: ("amount_minor",),
    RuleKind.VELOCITY_COUNT: ("count", "window_hours"),
    RuleKind.VELOCITY_VOLUME: ("amount_minor", "window_hours"),
    RuleKind.STRUCTURING: ("amount_minor", "band_minor", "count", "window_hours"),
    RuleKind.NEW_BENEFICIARY_LARGE: ("amount_minor", "window_hours"),
    RuleKind.ROUND_AMOUNT: ("amount_minor", "round_unit_minor"),
    RuleKind.HIGH_RISK_CORRIDOR: ("amount_minor",),
    RuleKind.DORMANT_WAKEUP: ("amount_minor", "window_hours"),
    RuleKind.MANY_SENDERS_ONE_BENEFICIARY: ("count", "window_hours"),
}

# Kinds whose count includes the judged transfer (or its profile) and so means nothing below 2.
COUNT_AT_LEAST_TWO = (RuleKind.STRUCTURING, RuleKind.MANY_SENDERS_ONE_BENEFICIARY)

# Upper bounds: above these a value is a typo, not a policy.
MAX_AMOUNT_MINOR = 10**15
MAX_COUNT = 100_000
MAX_WINDOW_HOURS = 24 * 366 * 3  # three years (a dormancy period can be long)
COUNTRY = re.compile(r"^[A-Z]{2}$")


class RuleLike(Protocol):
    """A MonitoringRule, or anything with its fields (tests pass plain objects)."""

    pk: Any
    name: str
    kind: str
    score: int
    profile_kind: str
    source_currency: str
    target_currency: str
    beneficiary_country: str
    amount_minor: int | None
    band_minor: int | None
    round_unit_minor: int | None
    count: int | None
    window_hours: int | None


def _positive(rule: RuleLike, name: str, maximum: int, minimum: int = 1) -> list[FieldError]:
    value = getattr(rule, name)
    if value is None or value == "":
        return [FieldError(name, "required", f"required for a {rule.kind} rule")]
    if not isinstance(value, int) or isinstance(value, bool):
        return [FieldError(name, "invalid", "must be a whole number")]
    if value < minimum:
        return [FieldError(name, "too_small", f"must be at least {minimum}")]
    if value > maximum:
        return [FieldError(name, "too_large", f"must be at most {maximum}")]
    return []


def rule_errors(rule: RuleLike) -> list[FieldError]:
    """Everything wrong with `rule`'s configuration, each naming its field; [] if it is sane."""
    errors: list[FieldError] = []
    if not (rule.name or "").strip():
        errors.append(FieldError("name", "required", "give the rule a name"))
    if rule.kind not in REQUIRED:
        return [*errors, FieldError("kind", "invalid_choice", "one of " + ", ".join(REQUIRED))]
    required = REQUIRED[rule.kind]
    maxima = {
        "amount_minor": MAX_AMOUNT_MINOR,
        "band_minor": MAX_AMOUNT_MINOR,
        "round_unit_minor": MAX_AMOUNT_MINOR,
        "count": MAX_COUNT,
        "window_hours": MAX_WINDOW_HOURS,
    }
    for name in PARAMETERS:
        if name in required:
            minimum = 2 if (name == "count" and rule.kind in COUNT_AT_LEAST_TWO) else 1
            errors += _positive(rule, name, maxima[name], minimum)
        elif getattr(rule, name) is not None:
            errors.append(
                FieldError(name, "not_used", f"a {rule.kind} rule does not use it: leave it blank")
            )
    failed = {e.field for e in errors}
    if rule.kind == RuleKind.STRUCTURING and not failed & {"amount_minor", "band_minor"}:
        assert rule.band_minor is not None
        assert rule.amount_minor is not None
        if rule.band_minor >= rule.amount_minor:
            errors.append(
                FieldError(
                    "band_minor",
                    "band_too_wide",
                    "must be smaller than amount_minor (a band as wide as the threshold "
                    "would count every payment below it)",
                )
            )
    if rule.kind == RuleKind.ROUND_AMOUNT and "round_unit_minor" not in failed:
        assert rule.round_unit_minor is not None
        if rule.round_unit_minor < 2:
            errors.append(
                FieldError("round_unit_minor", "too_small", "must be at least 2 (every amount "
                           "is a multiple of 1)")
            )  # fmt: skip
    uses_amounts = any(p in required for p in ("amount_minor", "band_minor", "round_unit_minor"))
    if rule.source_currency:
        if not is_supported_currency(rule.source_currency):
            errors.append(
                FieldError("source_currency", "unsupported_currency", "not a supported currency")
            )
    elif uses_amounts:
        errors.append(
            FieldError(
                "source_currency",
                "required",
                "an amount threshold is in the minor units of one currency: name it",
            )
        )
    if rule.target_currency and not is_supported_currency(rule.target_currency):
        errors.append(
            FieldError("target_currency", "unsupported_currency", "not a supported currency")
        )
    if rule.beneficiary_country and not COUNTRY.match(rule.beneficiary_country):
        errors.append(
            FieldError("beneficiary_country", "invalid", "two capital letters (ISO 3166-1)")
        )
    if (
        rule.kind == RuleKind.HIGH_RISK_CORRIDOR
        and not rule.target_currency
        and not rule.beneficiary_country
    ):
        errors.append(
            FieldError(
                "beneficiary_country",
                "required",
                "a corridor names a beneficiary country or a target currency",
            )
        )
    if not isinstance(rule.score, int) or not 1 <= rule.score <= 100:
        errors.append(FieldError("score", "invalid", "between 1 and 100"))
    return errors


# ---------------------------------------------------------------------------------------------
# Evaluation


@dataclass(frozen=True, slots=True)
class TransferView:
    """What the rules read about the transfer itself."""

    id: int
    profile_id: int
    profile_kind: str
    source_currency: str
    target_currency: str
    beneficiary_country: str
    amount_minor: int  # source amount, fee included: what leaves the customer
    created_at: dt.datetime
    beneficiary_created_at: dt.datetime
    profile_created_at: dt.datetime


def in_scope(rule: RuleLike, t: TransferView) -> bool:
    return (
        (not rule.profile_kind or rule.profile_kind == t.profile_kind)
        and (not rule.source_currency or rule.source_currency == t.source_currency)
        and (not rule.target_currency or rule.target_currency == t.target_currency)
        and (not rule.beneficiary_country or rule.beneficiary_country == t.beneficiary_country)
    )


# What history each kind reads (facts.py builds one subquery per entry): "count", "volume"
# and "in_band" over the window, in the rule's scope, the transfer itself included;
# "last_before": the profile's latest earlier transfer (any scope) within the window;
# "senders": the distinct profiles (this one included) with transfers in the window and scope
# to a beneficiary with the same details fingerprint as this transfer's (any profile's), 0
# when this beneficiary's fingerprint is blank (unknown: it matches nothing).
HISTORY: dict[str, tuple[str, ...]] = {
    RuleKind.VELOCITY_COUNT: ("count",),
    RuleKind.VELOCITY_VOLUME: ("volume",),
    RuleKind.STRUCTURING: ("in_band",),
    RuleKind.DORMANT_WAKEUP: ("last_before",),
    RuleKind.MANY_SENDERS_ONE_BENEFICIARY: ("senders",),
}

Facts = dict[str, Any]
History = dict[str, Any]


def _hours(delta: dt.timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def _large(rule: RuleLike, t: TransferView, h: History) -> Facts | None:
    assert rule.amount_minor is not None
    if t.amount_minor < rule.amount_minor:
        return None
    return {"amount_minor": t.amount_minor, "threshold_minor": rule.amount_minor}


def _velocity_count(rule: RuleLike, t: TransferView, h: History) -> Facts | None:
    assert rule.count is not None
    if h["count"] < rule.count:
        return None
    return {"count": h["count"], "limit": rule.count, "window_hours": rule.window_hours}


def _velocity_volume(rule: RuleLike, t: TransferView, h: History) -> Facts | None:
    assert rule.amount_minor is not None
    if h["volume"] < rule.amount_minor:
        return None
    return {
        "volume_minor": h["volume"],
        "threshold_minor": rule.amount_minor,
        "window_hours": rule.window_hours,
    }


def structuring_band(rule: RuleLike) -> tuple[int, int]:
    """[low, high): amounts at least `band_minor` below the threshold, never reaching it."""
    assert rule.amount_minor is not None
    assert rule.band_minor is not None
    return rule.amount_minor - rule.band_minor, rule.amount_minor


def _structuring(rule: RuleLike, t: TransferView, h: History) -> Facts | None:
    assert rule.count is not None
    low, high = structuring_band(rule)
    if not low <= t.amount_minor < high or h["in_band"] < rule.count:
        return None
    return {
        "amount_minor": t.amount_minor,
        "band_minor": [low, high],
        "in_band": h["in_band"],
        "limit": rule.count,
        "window_hours": rule.window_hours,
    }


def _new_beneficiary(rule: RuleLike, t: TransferView, h: History) -> Facts | None:
    assert rule.amount_minor is not None
    assert rule.window_hours is not None
    age = t.created_at - t.beneficiary_created_at
    if t.amount_minor < rule.amount_minor or age >= dt.timedelta(hours=rule.window_hours):
        return None
    return {
        "amount_minor": t.amount_minor,
        "threshold_minor": rule.amount_minor,
        "beneficiary_age_hours": _hours(age),
    }


def _round(rule: RuleLike, t: TransferView, h: History) -> Facts | None:
    assert rule.amount_minor is not None
    assert rule.round_unit_minor is not None
    if t.amount_minor < rule.amount_minor or t.amount_minor % rule.round_unit_minor:
        return None
    return {"amount_minor": t.amount_minor, "multiple_of_minor": rule.round_unit_minor}


def _corridor(rule: RuleLike, t: TransferView, h: History) -> Facts | None:
    assert rule.amount_minor is not None
    if t.amount_minor < rule.amount_minor:
        return None
    return {
        "amount_minor": t.amount_minor,
        "corridor": f"{t.source_currency}->{t.target_currency} {t.beneficiary_country}",
    }


def _dormant(rule: RuleLike, t: TransferView, h: History) -> Facts | None:
    assert rule.amount_minor is not None
    assert rule.window_hours is not None
    quiet = dt.timedelta(hours=rule.window_hours)
    last = h["last_before"]  # the latest earlier transfer (facts.py reads it within the window)
    if t.amount_minor < rule.amount_minor:
        return None
    if t.created_at - t.profile_created_at < quiet:
        return None  # a new customer is not dormant
    if last is not None and t.created_at - last < quiet:
        return None
    return {"amount_minor": t.amount_minor, "quiet_for_at_least_hours": rule.window_hours}


def _many_senders(rule: RuleLike, t: TransferView, h: History) -> Facts | None:
    assert rule.count is not None
    if h["senders"] < rule.count:
        return None
    return {"senders": h["senders"], "limit": rule.count, "window_hours": rule.window_hours}


EVALUATORS: dict[str, Callable[[RuleLike, TransferView, History], Facts | None]] = {
    RuleKind.LARGE_AMOUNT: _large,
    RuleKind.VELOCITY_COUNT: _velocity_count,
    RuleKind.VELOCITY_VOLUME: _velocity_volume,
    RuleKind.STRUCTURING: _structuring,
    RuleKind.NEW_BENEFICIARY_LARGE: _new_beneficiary,
    RuleKind.ROUND_AMOUNT: _round,
    RuleKind.HIGH_RISK_CORRIDOR: _corridor,
    RuleKind.DORMANT_WAKEUP: _dormant,
    RuleKind.MANY_SENDERS_ONE_BENEFICIARY: _many_senders,
}


def evaluate(rule: RuleLike, t: TransferView, history: History) -> Facts | None:
    """The facts that trigger `rule` on `t`, or None. Out of scope is None."""
    if not in_scope(rule, t):
        return None
    facts = EVALUATORS[rule.kind](rule, t, history)
    if facts is None:
        return None
    return {"rule": rule.name, "kind": rule.kind, "currency": t.source_currency, **facts}
