"""The rate interface: a deterministic, realistic sandbox and a provider chosen by settings."""

import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from fintech.core.money import SUPPORTED_CURRENCIES
from fintech.quotes.rates import RateProvider, SandboxRateProvider, get_rate_provider
from tests.quotes.fixed_rates import FixedRateProvider

PAIRS = [(a, b) for a, b in itertools.permutations(SUPPORTED_CURRENCIES, 2)]


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=lambda c: c)
def test_the_sandbox_prices_every_supported_pair_as_a_ten_place_decimal(source, target) -> None:
    quote = SandboxRateProvider().mid_rate(source, target)
    assert isinstance(quote.rate, Decimal)
    assert quote.rate > 0
    assert quote.rate.as_tuple().exponent == -10
    assert quote.source == "sandbox"
    assert quote.at.tzinfo is not None


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=lambda c: c)
def test_sandbox_cross_rates_are_consistent_both_ways(source, target) -> None:
    provider = SandboxRateProvider()
    there = provider.mid_rate(source, target).rate
    back = provider.mid_rate(target, source).rate
    # Each rate is rounded to 10 places, so the round trip is 1 to within that rounding.
    assert abs(there * back - 1) < Decimal("1E-6")


def test_the_sandbox_is_deterministic() -> None:
    assert SandboxRateProvider().mid_rate("GBP", "INR").rate == (
        SandboxRateProvider().mid_rate("GBP", "INR").rate
    )


@pytest.mark.parametrize(
    ("source", "target", "low", "high"),
    [
        ("GBP", "USD", "1.1", "1.5"),
        ("EUR", "GBP", "0.8", "0.95"),
        ("USD", "JPY", "100", "200"),
        ("GBP", "INR", "90", "120"),
        ("KWD", "USD", "3", "3.5"),
    ],
)
def test_sandbox_rates_are_realistic(source, target, low, high) -> None:
    rate = SandboxRateProvider().mid_rate(source, target).rate
    assert Decimal(low) < rate < Decimal(high)


def test_the_sandbox_refuses_a_currency_it_does_not_know() -> None:
    with pytest.raises(LookupError, match="XAU"):
        SandboxRateProvider().mid_rate("GBP", "XAU")


def test_the_provider_comes_from_settings(settings) -> None:
    settings.RATE_PROVIDER = "tests.quotes.fixed_rates.FixedRateProvider"
    provider = get_rate_provider()
    assert isinstance(provider, FixedRateProvider)
    assert isinstance(provider, RateProvider)
    settings.RATE_PROVIDER = "fintech.quotes.rates.SandboxRateProvider"
    assert isinstance(get_rate_provider(), SandboxRateProvider)


@pytest.mark.parametrize(
    "path", ["tests.quotes.fixed_rates.NoSuchProvider", "decimal.Context", "nosuchmodule.X"]
)
def test_a_bad_provider_setting_names_rate_provider(settings, path) -> None:
    settings.RATE_PROVIDER = path
    with pytest.raises(ImproperlyConfigured, match="RATE_PROVIDER"):
        get_rate_provider()
