"""A dispute end to end with real pieces: a throwaway Redis, a real Celery worker, our live
server serving the payout partner sandbox and our inbound webhooks, and a customer's receiver
verifying our signed webhooks. Recall requested, partner answers, lost -> refund posted once,
events and webhooks sent, the ledger verified; a won dispute releases the hold."""

from __future__ import annotations

import pytest
import redis

from fintech.core.services import Actor
from fintech.disputes.models import Dispute
from fintech.disputes.services import dispute_decide, dispute_open
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_fund, transfer_submit
from fintech.wallets.services import DEFAULT_FUNDING_PARTNER
from integrations.models import InboundWebhook, PayoutRecall, SandboxPayout
from integrations.webhooks.services import endpoint_create
from ledger import chart
from ledger.selectors import account_summary, ledger_verify_report
from tests.disputes.conftest import refund_entries
from tests.integrations.conftest import (  # noqa: F401  (fixtures)
    create_transfer,
    fund_wallet,
    receiver,
    redis_server,
    start_worker,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
OPS = Actor.system("test")
ALICE = Actor(label="user:alice")


@pytest.fixture(autouse=True)
def _clean_redis(redis_server):  # noqa: F811
    redis.Redis.from_url(redis_server.url).flushdb()


@pytest.fixture
def ours(live_server, settings):
    settings.FINTECH_BASE_URL = live_server.url
    settings.PAYOUT_SANDBOX_BASE_URL = f"{live_server.url}/sandbox/payout-partner"
    settings.PAYOUT_SANDBOX_LATENCY_SECONDS = 0
    return live_server.url


def received_types(receiver) -> list[str]:  # noqa: F811
    return [r.json["type"] for r in receiver.received if r.verified_with]


def paid_out(alice, holder_name: str) -> Transfer:
    transfer = create_transfer(alice, holder_name=holder_name)
    transfer_fund(actor=OPS, transfer_id=transfer.pk)
    transfer_submit(actor=OPS, transfer_id=transfer.pk)
    wait_for(
        lambda: Transfer.objects.get(pk=transfer.pk).state == Transfer.State.COMPLETED,
        timeout=60,
    )
    return Transfer.objects.get(pk=transfer.pk)


def held() -> int:
    funding = chart.funding_partner_account(partner=DEFAULT_FUNDING_PARTNER, currency="GBP")
    return account_summary(account_id=funding.pk).held_minor


def under_review(dispute: Dispute) -> Dispute | None:
    dispute.refresh_from_db()
    return dispute if dispute.state == Dispute.State.UNDER_REVIEW else None


def test_recall_answered_lost_refunds_once_and_won_releases(
    ours,
    start_worker,  # noqa: F811
    receiver,  # noqa: F811
    alice,
) -> None:
    start_worker(base_url=ours)
    created = endpoint_create(actor=OPS, profile=alice, url=receiver.url)
    receiver.secrets.append(created.secret)
    fund_wallet(alice, "GBP", 1_000_00)
    lost_transfer = paid_out(alice, "Lieferant GmbH")
    won_transfer = paid_out(alice, "Keep Holdings GmbH")  # the partner refuses the recall

    # Lost: the customer says it is a duplicate; the partner recovers the money.
    dispute = dispute_open(
        actor=ALICE, profile=alice, transfer_id=lost_transfer.pk, reason="duplicate"
    )
    assert held() == lost_transfer.source_amount_minor
    dispute = wait_for(lambda: under_review(dispute), timeout=60)
    assert dispute.partner_answer["outcome"] == "recovered"
    assert dispute.partner_answer["type"] == "recall"
    recall = PayoutRecall.objects.get(dispute_id=dispute.pk)
    assert recall.status == PayoutRecall.Status.ANSWERED
    payout = SandboxPayout.objects.get(client_reference=lost_transfer.reference)
    assert payout.recall_reference == f"dispute-{dispute.pk}"
    assert payout.status == SandboxPayout.Status.SENT  # the answer left the payout as it was
    inbound = InboundWebhook.objects.get(event_type="payout.recall_answered")
    assert (inbound.signature_verdict, inbound.status) == ("valid", "processed")

    for _retry in range(2):  # an operator's double click: one refund
        dispute_decide(actor=OPS, dispute_id=dispute.pk, outcome="lost", reason="recovered")
    lost_transfer.refresh_from_db()
    assert lost_transfer.state == Transfer.State.REFUNDED
    assert refund_entries(lost_transfer) == 1
    assert held() == 0
    wait_for(
        lambda: (
            {"dispute.opened", "dispute.under_review", "dispute.lost", "payment.refunded"}
            <= set(received_types(receiver))
        ),
        timeout=60,
    )
    lost = next(r for r in receiver.received if r.json["type"] == "dispute.lost")
    assert lost.json["data"]["transfer_reference"] == lost_transfer.reference
    assert "decision_reason" not in lost.json["data"]
    assert received_types(receiver).count("payment.refunded") == 1

    # Won: a trace the partner answers with "refused"; we win, the hold goes, no refund.
    dispute = dispute_open(
        actor=ALICE, profile=alice, transfer_id=won_transfer.pk, reason="not_received"
    )
    dispute = wait_for(lambda: under_review(dispute), timeout=60)
    assert dispute.partner_answer == dispute.partner_answer | {
        "outcome": "refused",
        "type": "trace",
    }
    assert held() == won_transfer.source_amount_minor
    dispute_decide(actor=OPS, dispute_id=dispute.pk, outcome="won", reason="delivered")
    assert held() == 0
    won_transfer.refresh_from_db()
    assert won_transfer.state == Transfer.State.COMPLETED
    assert refund_entries(won_transfer) == 0
    wait_for(lambda: "dispute.won" in received_types(receiver), timeout=60)
    assert ledger_verify_report().ok
