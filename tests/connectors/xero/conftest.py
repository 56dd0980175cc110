"""Transfers and fundings built through the services, for the facts and mapping tests.

alice (tests/conftest.py) sends money to her suppliers: a EUR one in Germany, a USD one and a
GBP one; `send` drives a transfer to any state, `refunded_after_failure` included.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from fintech.customers.models import Profile
from fintech.transfers import services
from fintech.transfers.models import Transfer
from tests.builders import build_beneficiary
from tests.transfers.conftest import ALICE, OPS, STEP, move, quote_for

SUPPLIERS = {
    "EUR": "Alice's supplier GmbH",
    "USD": "Alice's US supplier Inc",
    "GBP": "Alice's UK supplier Ltd",
}

PLATFORM_ROLES = {
    "client_money": "090",
    "fee_revenue": "200",
    "fx_margin_revenue": "260",
    "customer_funds": "820",
    "payout_clearing": "821",
    "fx_position": "970",
}
CUSTOMER_ROLES = {
    "wallet_bank": "091",
    "payout_clearing": "822",
    "bank_fees": "404",
    "funding_clearing": "610",
}


@pytest.fixture
def alice_suppliers(alice) -> dict[str, object]:
    return {
        currency: build_beneficiary(profile=alice, currency=currency, holder_name=name)
        for currency, name in SUPPLIERS.items()
    }


Send = Callable[..., Transfer]


@pytest.fixture
def send(alice, alice_suppliers) -> Send:
    def make(
        state: str = "completed",
        *,
        source: str = "GBP",
        target: str = "EUR",
        amount: str = "250.00",
        profile: Profile | None = None,
        beneficiary: object | None = None,
    ) -> Transfer:
        payer = profile or alice
        transfer = services.transfer_create(
            actor=ALICE,
            profile=payer,
            quote_id=quote_for(payer, source=source, target=target, amount=amount).pk,
            beneficiary_id=(beneficiary or alice_suppliers[target]).pk,  # type: ignore[attr-defined]
            customer_transaction_id=f"INV-{uuid.uuid4().hex[:10]}",
        )
        if state == "refunded_after_failure":
            move(transfer, "failed")
            STEP["refund"](actor=OPS, transfer_id=transfer.pk, reason="test: refund")
            transfer.refresh_from_db()
            return transfer
        return move(transfer, state)

    return make
