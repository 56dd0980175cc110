"""A customer paying a beneficiary held by sanctions screening gets a 409 problem that names
the hold and nothing about the match."""

from __future__ import annotations

import json

import pytest

from fintech.transfers.models import Transfer
from tests.api.conftest import create_quote
from tests.builders import build_beneficiary
from tests.compliance.sanctions import OFAC_V1, load

pytestmark = pytest.mark.django_db


def test_a_transfer_to_a_held_beneficiary_is_a_409_screening_hold(alice_api, alice) -> None:
    load("ofac", OFAC_V1)
    held = build_beneficiary(profile=alice, currency="EUR", holder_name="Blue Horizon Trading FZE")
    request = {
        "quote_id": create_quote(alice_api)["id"],
        "beneficiary_id": held.pk,
        "customer_transaction_id": "INV-HELD",
    }

    response = alice_api.post("/transfers", request, key="held-1")

    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/problem+json")
    problem = json.loads(response.content)
    assert problem["code"] == "screening_hold"
    assert f"beneficiary {held.pk}" in problem["detail"]
    assert "OFAC" not in response.content.decode()
    assert "Horizon" not in response.content.decode()
    assert not Transfer.objects.exists()
