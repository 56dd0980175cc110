"""Monitoring fixtures: rules saved through the service, transfers through transfer_create."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from fintech.beneficiaries.models import Beneficiary
from fintech.core.services import Actor
from fintech.customers.models import Profile
from fintech.monitoring.models import MonitoringRule
from fintech.monitoring.services import monitoring_rule_save
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_create
from tests.builders import build_beneficiary, build_profile
from tests.transfers.conftest import ALICE, alice_eur, quote_for  # noqa: F401 (fixture)

# Carla works in compliance: she writes the rules and decides the alerts.
CARLA = Actor(label="user:carla", request_id="req-carla")


def save_rule(kind: str, **fields: Any) -> MonitoringRule:
    fields.setdefault("source_currency", "GBP")
    fields.setdefault("is_active", True)
    fields.setdefault("score", 70)
    fields.setdefault("name", f"{kind} {uuid.uuid4().hex[:6]}")
    return monitoring_rule_save(actor=CARLA, rule=MonitoringRule(kind=kind, **fields))


@pytest.fixture
def pay(alice, alice_eur) -> Callable[..., Transfer]:  # noqa: F811 (fixture)
    """alice pays her EUR supplier `amount` GBP (fee included) now."""

    def make(amount: str = "250.00", *, beneficiary=None) -> Transfer:
        return transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=quote_for(alice, amount=amount).pk,
            beneficiary_id=(beneficiary or alice_eur).pk,
            customer_transaction_id=f"INV-{uuid.uuid4().hex[:10]}",
        )

    return make


# One supplier's account, as each customer typed it.
WRITINGS = [
    "DE89 3704 0044 0532 0130 00",
    "de89370400440532013000",
    "DE89-3704-0044-0532-0130-00",
    "DE8937040044 0532013000",
]

Payer = Callable[..., Transfer]


@pytest.fixture
def payer(db) -> Callable[[str], tuple[Profile, Beneficiary, Payer]]:
    """A verified business with its own beneficiary for the shared account, and a way to pay it."""
    made = iter(range(100))

    def make(name: str, *, iban: str | None = None) -> tuple[Profile, Beneficiary, Payer]:
        n = next(made)
        profile = build_profile(legal_name=f"{name} Ltd")
        beneficiary = build_beneficiary(
            profile=profile,
            currency="EUR",
            holder_name=f"Supplier GmbH ({name}'s entry)",
            details={"iban": iban or WRITINGS[n % len(WRITINGS)], "bic": "COBADEFFXXX"},
        )
        actor = Actor(label=f"user:{name.lower()}", request_id=f"req-{name.lower()}")

        def pay(amount: str = "100.00") -> Transfer:
            return transfer_create(
                actor=actor,
                profile=profile,
                quote_id=quote_for(profile, amount=amount).pk,
                beneficiary_id=beneficiary.pk,
                customer_transaction_id=f"INV-{uuid.uuid4().hex[:10]}",
            )

        return profile, beneficiary, pay

    return make
