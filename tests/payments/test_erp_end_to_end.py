"""An ERP's payment file end to end, with real pieces: our live server (the API, the payout
partner's sandbox and its signed webhooks back to us), a real Celery worker on a throwaway
Redis, and the ERP's own webhook receiver on 127.0.0.1 verifying our signatures.

A pain.001 batch of two payments comes in; a second member approves both; an operator
submits the transfers; the partner pays one and fails the other (its beneficiary's name says
so); the ERP hears every step, signed; the pain.002 and the cash position say the same."""

from __future__ import annotations

from decimal import Decimal

import pytest
import redis
from django.db import connection

from fintech.core.services import Actor
from fintech.payments.models import PaymentRequest
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_submit
from integrations.webhooks.services import endpoint_create
from tests.integrations.conftest import (  # noqa: F401 (fixtures)
    receiver,
    redis_server,
    start_worker,
    wait_for,
)
from tests.integrations.test_real_worker import ours  # noqa: F401 (fixture)
from tests.payments.conftest import body, sync_vendor
from tests.payments.test_cash_position import position
from tests.payments.test_pain_files import VENDOR_IBAN, pain001, status_report, tx_statuses

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
OPS = Actor.system("test-operator")
FAILING_ACCOUNT = {"iban": "DE35370400440532013002", "bic": "COBADEFFXXX"}


@pytest.fixture(autouse=True)
def _clean(redis_server):  # noqa: F811 (the fixture)
    redis.Redis.from_url(redis_server.url).flushdb()
    yield
    connection.close()


def signed_events(receiver) -> dict[str, set[str]]:  # noqa: F811 (the fixture)
    """erp_payment_id -> the payment_request.* types received and verified."""
    seen: dict[str, set[str]] = {}
    for message in receiver.received:
        if message.verified_with and message.json["type"].startswith("payment_request."):
            data = message.json["data"]
            seen.setdefault(data["erp_payment_id"], set()).add(message.json["type"])
    return seen


def test_a_payment_file_from_approval_to_paid_and_failed(
    ours,  # noqa: F811
    start_worker,  # noqa: F811
    receiver,  # noqa: F811
    erp_api,
    carol_api,
    alice,
) -> None:
    start_worker(base_url=ours)
    subscribed = endpoint_create(actor=OPS, profile=alice, url=receiver.url)
    receiver.secrets.append(subscribed.secret)
    sync_vendor(erp_api)  # V-1001, Lieferant GmbH, VENDOR_IBAN
    sync_vendor(
        erp_api,
        erp_vendor_id="V-2002",
        name="Failing Supplies GmbH",
        holder_name="Failing Supplies GmbH",  # the partner's sandbox fails such a payout
        details=FAILING_ACCOUNT,
    )
    start = position(erp_api, "GBP")

    data = pain001(
        "pain.001.001.09",
        [
            {"endtoend_id": "E2E-PAID", "amount": 125000, "IBAN": VENDOR_IBAN},
            {"endtoend_id": "E2E-FAILS", "amount": 99950, "IBAN": FAILING_ACCOUNT["iban"],
             "name": "Failing Supplies GmbH"},
        ],
    )  # fmt: skip
    uploaded = erp_api.post(
        "/payment-request-batches/files?source_currency=GBP",
        raw=data,
        content_type="application/xml",
    )
    assert uploaded.status_code == 201, uploaded.content
    batch = body(uploaded)
    assert batch["states"] == {"awaiting_approval": 2}  # new vendors: a member approves
    assert tx_statuses(status_report(erp_api, batch["id"])) == {
        "E2E-PAID": ("PDNG", []),
        "E2E-FAILS": ("PDNG", []),
    }
    waiting = position(erp_api, "GBP")
    assert waiting["available"] == start["available"]
    assert Decimal(waiting["pending_outflows"]) > Decimal(start["pending_outflows"])

    requests = {r.erp_payment_id: r for r in PaymentRequest.objects.all()}
    for request in requests.values():
        approved = carol_api.post(f"/payment-requests/{request.pk}/approve", {}, key=None)
        assert approved.status_code == 200, approved.content
    for request in requests.values():
        request.refresh_from_db()
    sources = {name: r.transfer.source_amount_minor for name, r in requests.items()}
    funded = position(erp_api, "GBP")  # both funded from the wallet at once
    assert (
        Decimal(funded["available"])
        == Decimal(start["available"]) - Decimal(sum(sources.values())) / 100
    )
    assert Decimal(funded["pending_outflows"]) == Decimal(start["pending_outflows"])

    # Operators see them funded and hand them to the payout partner.
    for request in requests.values():
        transfer_submit(actor=OPS, transfer_id=request.transfer_id, reason="ERP batch")

    def settled() -> bool:
        seen = signed_events(receiver)
        return "payment_request.completed" in seen.get(
            "E2E-PAID", set()
        ) and "payment_request.failed" in seen.get("E2E-FAILS", set())

    wait_for(settled, timeout=120)

    paid, failed = requests["E2E-PAID"], requests["E2E-FAILS"]
    paid.refresh_from_db()
    failed.refresh_from_db()
    assert (paid.state, failed.state) == ("completed", "failed")
    assert Transfer.objects.get(pk=paid.transfer_id).state == Transfer.State.COMPLETED
    assert Transfer.objects.get(pk=failed.transfer_id).state == Transfer.State.FAILED
    seen = signed_events(receiver)
    for step in ("awaiting_approval", "transfer_created", "funded", "processing"):
        assert f"payment_request.{step}" in seen["E2E-PAID"], seen
    completed = next(
        m.json["data"] for m in receiver.received if m.json["type"] == "payment_request.completed"
    )
    assert completed["accounting_reference"] == Transfer.objects.get(pk=paid.transfer_id).reference
    assert all(completed[key] for key in ("rate", "fee", "source_amount", "value_date"))
    failure = next(
        m.json["data"] for m in receiver.received if m.json["type"] == "payment_request.failed"
    )
    # The partner's reason first, then the event: what the ERP's user needs to act.
    partner_said = Transfer.objects.get(pk=failed.transfer_id).failure_reason
    assert partner_said
    assert failure["failure_reason"].startswith(partner_said), failure["failure_reason"]
    assert all(m.verified_with for m in receiver.received)  # every message signed with ours

    statuses = tx_statuses(status_report(erp_api, batch["id"]))
    assert statuses["E2E-PAID"] == ("ACSC", [])
    assert statuses["E2E-FAILS"][0] == "RJCT"

    # The failed payout's money is back in the wallet; the paid one's has left it.
    done = position(erp_api, "GBP")
    assert (
        Decimal(done["available"])
        == Decimal(start["available"]) - Decimal(sources["E2E-PAID"]) / 100
    )
    assert Decimal(done["pending_outflows"]) == Decimal(start["pending_outflows"])
