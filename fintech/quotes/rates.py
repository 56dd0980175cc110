"""Mid-market rates: one small interface, a deterministic sandbox, and a loader from settings.

A rate is a `Decimal` (never a float) with where it came from and when. A real provider
(a bank feed, a market-data API) is a new class with the same `mid_rate` method and a
dotted path in `RATE_PROVIDER`; nothing else changes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

from fintech.core.money import SUPPORTED_CURRENCIES

# Rates carry 10 decimal places: enough for JPY->KWD (about 0.002) to keep 7 significant digits.
RATE_PLACES = Decimal("1E-10")


@dataclass(frozen=True, slots=True)
class RateQuote:
    """How many units of the target currency one unit of the source currency buys, at mid."""

    rate: Decimal
    source: str  # who published the rate, e.g. "sandbox"
    at: datetime


@runtime_checkable
class RateProvider(Protocol):
    def mid_rate(self, source: str, target: str) -> RateQuote:
        """The mid-market rate target-per-source; raises LookupError for a pair it cannot price."""
        ...


# Units of each currency per 1 USD: a fixed, realistic snapshot so the sandbox and the
# tests are deterministic. A new supported currency needs a line here.
SANDBOX_UNITS_PER_USD: dict[str, Decimal] = {
    "USD": Decimal("1"),
    "GBP": Decimal("0.7850"),
    "EUR": Decimal("0.9210"),
    "INR": Decimal("83.4500"),
    "JPY": Decimal("151.2000"),
    "CHF": Decimal("0.8830"),
    "AUD": Decimal("1.5240"),
    "CAD": Decimal("1.3650"),
    "SGD": Decimal("1.3420"),
    "HKD": Decimal("7.8150"),
    "KWD": Decimal("0.3072"),
    "PLN": Decimal("3.9850"),
    "SEK": Decimal("10.4800"),
}


class SandboxRateProvider:
    """Deterministic rates for every supported pair: cross rates derived through USD."""

    name = "sandbox"

    def __init__(self, table: dict[str, Decimal] | None = None) -> None:
        self.table = table if table is not None else SANDBOX_UNITS_PER_USD

    def mid_rate(self, source: str, target: str) -> RateQuote:
        try:
            source_per_usd = self.table[source]
            target_per_usd = self.table[target]
        except KeyError as exc:
            raise LookupError(f"the sandbox has no rate for {source}/{target}") from exc
        rate = (target_per_usd / source_per_usd).quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN)
        return RateQuote(rate=rate, source=self.name, at=timezone.now())


@functools.cache
def _load(path: str) -> RateProvider:
    try:
        provider_class = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"RATE_PROVIDER={path!r} cannot be imported: {exc}") from exc
    provider = provider_class()
    if not isinstance(provider, RateProvider):
        raise ImproperlyConfigured(f"RATE_PROVIDER={path!r} has no mid_rate(source, target)")
    return provider


def get_rate_provider() -> RateProvider:
    """The provider named by `settings.RATE_PROVIDER` (one instance per dotted path)."""
    return _load(settings.RATE_PROVIDER)


def _check_sandbox_covers_supported_currencies() -> None:
    missing = set(SUPPORTED_CURRENCIES) - set(SANDBOX_UNITS_PER_USD)
    if missing:  # pragma: no cover - a developer adding a currency sees this at import
        raise ImproperlyConfigured(f"sandbox rates missing for {sorted(missing)}")


_check_sandbox_covers_supported_currencies()
