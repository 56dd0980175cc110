"""Shared fixtures. People: alice (verified business), bob (KYC pending), ops (operator)."""

# --- people (customers / compliance / beneficiaries) -------------------------------------------
import pytest

from fintech.core.services import Actor
from fintech.customers.models import Profile
from tests.builders import build_profile, build_user, build_wallet_funding


@pytest.fixture
def ops(db):
    """An operator: staff superuser who works in the admin console."""
    return build_user("ops", is_superuser=True)


@pytest.fixture
def ops_actor(ops) -> Actor:
    return Actor.for_user(ops, request_id="req-ops")


@pytest.fixture
def alice_user(db):
    return build_user("alice")


# Alice's opening balances, paid in at the funding bank (minor units).
ALICE_OPENING_BALANCES = {"GBP": 10_000_000, "EUR": 5_000_000}


@pytest.fixture
def alice(alice_user) -> Profile:
    """Alice's business: verified, with alice as owner, and GBP and EUR in her wallets."""
    profile = build_profile(
        kind=Profile.Kind.BUSINESS,
        verified=True,
        legal_name="Alice Trading Ltd",
        owner=alice_user,
    )
    for currency, amount_minor in ALICE_OPENING_BALANCES.items():
        build_wallet_funding(profile=profile, currency=currency, amount_minor=amount_minor)
    return profile


@pytest.fixture
def bob_user(db):
    return build_user("bob")


@pytest.fixture
def bob(bob_user) -> Profile:
    """Bob, a person whose KYC is pending."""
    return build_profile(
        kind=Profile.Kind.PERSONAL,
        verified=False,
        submitted=True,
        legal_name="Bob Example",
        owner=bob_user,
    )
