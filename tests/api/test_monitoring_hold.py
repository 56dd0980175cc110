"""Customers see that a transfer is on hold, never why."""

from __future__ import annotations

import json

import pytest

from fintech.compliance.screening.services import sanctions_rescreen_due
from fintech.monitoring.models import MonitoringAlert
from fintech.monitoring.services import monitoring_alert_clear
from tests.api.conftest import create_quote
from tests.builders import build_beneficiary
from tests.compliance.sanctions import OFAC_V1, load
from tests.monitoring.conftest import CARLA, save_rule

pytestmark = pytest.mark.django_db


def create(alice_api, beneficiary, key: str) -> dict:
    body = {
        "quote_id": create_quote(alice_api)["id"],
        "beneficiary_id": beneficiary.pk,
        "customer_transaction_id": f"INV-{key}",
    }
    response = alice_api.post("/transfers", body, key=key)
    assert response.status_code == 201, response.content
    return json.loads(response.content)


def test_a_held_transfer_says_on_hold_and_not_why(alice_api, alice) -> None:
    rule = save_rule("large_amount", amount_minor=100_000, name="Large GBP payments UK")
    beneficiary = build_beneficiary(profile=alice, currency="EUR")

    created = create(alice_api, beneficiary, "held-1")  # 1000.00 GBP
    assert created["on_hold"] is True
    text = json.dumps(created)
    for secret in (rule.name, "large_amount", "monitoring", "alert", "rule"):
        assert secret not in text

    read = json.loads(alice_api.get(f"/transfers/{created['id']}").content)
    assert read["on_hold"] is True

    monitoring_alert_clear(
        actor=CARLA, alert=MonitoringAlert.objects.get(transfer_id=created["id"]), note="fine"
    )
    read = json.loads(alice_api.get(f"/transfers/{created['id']}").content)
    assert read["on_hold"] is False


def test_an_unheld_transfer_is_not_on_hold(alice_api, alice) -> None:
    save_rule("large_amount", amount_minor=100_001)
    created = create(alice_api, build_beneficiary(profile=alice, currency="EUR"), "free-1")
    assert created["on_hold"] is False
    assert json.loads(alice_api.get(f"/transfers/{created['id']}").content)["on_hold"] is False


def test_a_screening_hit_after_creation_shows_as_on_hold(alice_api, alice) -> None:
    beneficiary = build_beneficiary(profile=alice, currency="EUR", holder_name="Ivan Petrov")
    created = create(alice_api, beneficiary, "screen-1")
    assert created["on_hold"] is False
    load("ofac", OFAC_V1)  # the list now names him: the rescreen holds the beneficiary
    assert sanctions_rescreen_due() == 1
    read = json.loads(alice_api.get(f"/transfers/{created['id']}").content)
    assert read["on_hold"] is True
    assert "sanction" not in json.dumps(read).lower()
