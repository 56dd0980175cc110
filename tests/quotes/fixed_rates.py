"""A real RateProvider for tests whose rates the test states itself (set through `RATES`)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from fintech.quotes.rates import RateQuote

RATES: dict[tuple[str, str], Decimal] = {}


class FixedRateProvider:
    def mid_rate(self, source: str, target: str) -> RateQuote:
        return RateQuote(rate=RATES[(source, target)], source="fixed-test", at=timezone.now())
