"""The cash position moves with the requests: pending outflows until funded, then out of the
wallet; a failed payout's money is back at once, and leaves again when refunded to the bank."""

from __future__ import annotations

import pytest

from fintech.core.services import Actor
from fintech.transfers.services import transfer_fail, transfer_refund, transfer_submit
from tests.payments.conftest import body, dispatch_pending, request_body, sync_vendor

pytestmark = pytest.mark.django_db
PARTNER = Actor.system("test-partner")


def position(api, currency: str) -> dict:
    response = api.get("/cash-position")
    assert response.status_code == 200, response.content
    return next(c for c in body(response)["currencies"] if c["currency"] == currency)


def test_the_cash_position_follows_each_step(erp_api, carol_api, alice):
    sync_vendor(erp_api)  # a new vendor: its first payment awaits approval
    start = position(erp_api, "GBP")
    assert start["available"] == "100000.00"
    assert start["pending_outflows"] == "0.00"

    made = body(erp_api.post("/payment-requests", request_body(amount="1250.00")))
    assert made["state"] == "awaiting_approval"
    waiting = position(erp_api, "GBP")
    assert waiting["estimated"] is True
    assert waiting["available"] == "100000.00"
    outflow = waiting["pending_outflows"]
    assert 1000 < float(outflow) < 1200  # 1,250 EUR at the sandbox's mid rate
    assert waiting["by_value_date"][0]["value_date"] == made["due_date"]

    approved = body(carol_api.post(f"/payment-requests/{made['id']}/approve", {}, key=None))
    funded = position(erp_api, "GBP")  # funded from the wallet at once
    paid = approved["source_amount"]
    assert funded["pending_outflows"] == "0.00"
    assert funded["available"] == f"{100000 - float(paid):.2f}"

    dispatch_pending()
    transfer_submit(actor=PARTNER, transfer_id=approved["transfer_id"])
    transfer_fail(actor=PARTNER, transfer_id=approved["transfer_id"], reason="account closed")
    failed = position(erp_api, "GBP")
    assert failed["available"] == "100000.00"
    assert failed["projected"] == "100000.00"
    transfer_refund(actor=PARTNER, transfer_id=approved["transfer_id"], reason="returned")
    refunded = position(erp_api, "GBP")
    assert refunded["available"] == funded["available"]
    assert refunded["expected_inflows"] == "0.00"


def test_the_cash_position_needs_its_scope(client, alice):
    from tests.api.conftest import api_for, issue_client

    api = api_for(client, issue_client(alice, ["payments:request"]))
    assert api.get("/cash-position").status_code == 403
