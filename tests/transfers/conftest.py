"""Transfers in any state, built only through the services (quote -> create -> steps)."""

import uuid
from collections.abc import Callable

import pytest

from fintech.core.services import Actor
from fintech.quotes.services import quote_create
from fintech.transfers import services
from fintech.transfers.models import Transfer
from tests.builders import build_beneficiary

ALICE = Actor(label="user:alice", request_id="req-alice")
OPS = Actor(label="user:ops", request_id="req-ops")

# How to reach each state from "created", step by step (ARCHITECTURE.md's diagram).
PATH_TO: dict[str, list[str]] = {
    "created": [],
    "funded": ["fund"],
    "processing": ["fund", "submit"],
    "completed": ["fund", "submit", "complete"],
    "failed": ["fund", "submit", "fail"],
    "cancelled": ["cancel"],
    "refunded": ["fund", "submit", "complete", "refund"],
}

STEP = {
    "fund": services.transfer_fund,
    "submit": services.transfer_submit,
    "complete": services.transfer_complete,
    "fail": services.transfer_fail,
    "cancel": services.transfer_cancel,
    "refund": services.transfer_refund,
}


def quote_for(profile, *, source="GBP", target="EUR", amount="250.00"):
    return quote_create(
        actor=ALICE,
        profile=profile,
        source_currency=source,
        target_currency=target,
        source_amount=amount,
    )


def move(transfer: Transfer, state: str) -> Transfer:
    for step in PATH_TO[state]:
        STEP[step](actor=OPS, transfer_id=transfer.pk, reason=f"test: {step}")
    transfer.refresh_from_db()
    return transfer


@pytest.fixture
def alice_eur(alice):
    return build_beneficiary(profile=alice, currency="EUR", holder_name="Alice's supplier GmbH")


@pytest.fixture
def make_transfer(alice, alice_eur) -> Callable[..., Transfer]:
    def make(state: str = "created", *, customer_transaction_id: str | None = None) -> Transfer:
        transfer = services.transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=quote_for(alice).pk,
            beneficiary_id=alice_eur.pk,
            customer_transaction_id=customer_transaction_id or f"INV-{uuid.uuid4().hex[:10]}",
        )
        return move(transfer, state)

    return make
