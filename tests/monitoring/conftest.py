"""Monitoring fixtures: rules saved through the service, transfers through transfer_create."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from fintech.core.services import Actor
from fintech.monitoring.models import MonitoringRule
from fintech.monitoring.services import monitoring_rule_save
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_create
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
