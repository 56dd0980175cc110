from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.quotes import fixed_rates


@pytest.fixture
def fixed_rates_provider(settings) -> Iterator[dict[tuple[str, str], Decimal]]:
    """Price quotes at rates the test chooses: fill the returned dict with (source, target)."""
    settings.RATE_PROVIDER = "tests.quotes.fixed_rates.FixedRateProvider"
    fixed_rates.RATES.clear()
    yield fixed_rates.RATES
    fixed_rates.RATES.clear()
