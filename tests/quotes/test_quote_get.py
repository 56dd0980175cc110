"""quote_get: a profile sees its own quotes; anyone else's is simply not found."""

import pytest

from fintech.core.errors import NotFound
from fintech.core.services import Actor
from fintech.quotes.selectors import quote_get
from fintech.quotes.services import quote_create
from tests.builders import build_profile

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_quote(alice):
    return quote_create(
        actor=Actor(label="user:alice"),
        profile=alice,
        source_currency="GBP",
        target_currency="EUR",
        source_amount="100.00",
    )


def test_it_returns_the_profiles_own_quote(alice, alice_quote) -> None:
    assert quote_get(alice, alice_quote.pk) == alice_quote
    assert quote_get(alice, str(alice_quote.pk)) == alice_quote


def test_another_profiles_quote_is_not_found(alice_quote) -> None:
    carol = build_profile(legal_name="Carol Imports Ltd")
    with pytest.raises(NotFound):
        quote_get(carol, alice_quote.pk)


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "", "7ba15972-d533-41ea-8cbe-439e1f41f32f"])
def test_a_malformed_or_unknown_id_is_not_found(alice, bad_id) -> None:
    with pytest.raises(NotFound):
        quote_get(alice, bad_id)
