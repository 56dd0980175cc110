"""Disputes on alice's paid-out transfers, built only through the services."""

from collections.abc import Callable

import pytest

from fintech.core.models import OutboxEvent
from fintech.disputes.models import Dispute
from fintech.disputes.services import dispute_open
from fintech.transfers.models import Transfer
from ledger.selectors import entry_by_idempotency_key
from tests.transfers.conftest import ALICE, OPS, alice_eur, make_transfer  # noqa: F401

__all__ = ["ALICE", "OPS"]


@pytest.fixture
def completed(make_transfer) -> Transfer:  # noqa: F811  (the fixture, imported above)
    return make_transfer("completed")


@pytest.fixture
def open_dispute(alice, completed) -> Callable[..., Dispute]:
    def make(transfer: Transfer | None = None, reason: str = "not_received") -> Dispute:
        return dispute_open(
            actor=ALICE,
            profile=alice,
            transfer_id=(transfer or completed).pk,
            reason=reason,
            description="my supplier says nothing arrived",
        )

    return make


def refund_entries(transfer: Transfer) -> int:
    """How many refund entries the transfer has (0 or 1: keys are unique)."""
    return int(entry_by_idempotency_key(idempotency_key=f"transfer:{transfer.reference}:refund")
               is not None)  # fmt: skip


def event_types(prefix: str) -> list[str]:
    return list(
        OutboxEvent.objects.filter(type__startswith=prefix)
        .order_by("occurred_at")
        .values_list("type", flat=True)
    )
