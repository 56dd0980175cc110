"""`payment_request.*` webhooks reach a real receiver on 127.0.0.1 that verifies our
Standard Webhooks signatures, carrying what the ERP needs to close its bill."""

from __future__ import annotations

import pytest

from fintech.core.models import OutboxEvent
from fintech.core.services import Actor
from fintech.transfers.services import transfer_complete, transfer_submit
from integrations.models import WebhookDelivery
from integrations.webhooks.services import delivery_attempt, endpoint_create
from tests.integrations.conftest import receiver  # noqa: F401 (the loopback receiver fixture)
from tests.payments.conftest import body, dispatch_pending, request_body, sync_vendor

pytestmark = pytest.mark.django_db
OPS = Actor.system("test")


def test_every_transition_is_a_signed_webhook_with_the_erps_references(
    alice,
    erp_api,
    no_vendor_approval,
    receiver,  # noqa: F811
):
    created = endpoint_create(
        actor=OPS,
        profile=alice,
        url=receiver.url,
        event_types=["payment_request.transfer_created", "payment_request.completed"],
    )
    receiver.secrets.append(created.secret)
    sync_vendor(erp_api)
    made = body(erp_api.post("/payment-requests", request_body(erp_payment_id="PAY-WH")))
    dispatch_pending()
    transfer_submit(actor=OPS, transfer_id=made["transfer_id"])
    transfer_complete(actor=OPS, transfer_id=made["transfer_id"])
    dispatch_pending()
    for delivery in WebhookDelivery.objects.order_by("id"):
        assert delivery_attempt(delivery_id=delivery.pk) == "succeeded"

    assert [r.json["type"] for r in receiver.received] == [
        "payment_request.transfer_created",
        "payment_request.completed",
    ]
    done = receiver.received[-1]
    assert done.verified_with == [created.secret]
    data = done.json["data"]
    assert data["erp_payment_id"] == "PAY-WH"
    assert data["erp_approval_ref"] == "APR-77"
    assert data["erp_vendor_id"] == "V-1001"
    assert data["transfer_id"] == made["transfer_id"]
    assert data["accounting_reference"] == made["accounting_reference"]
    for key in ("rate", "fee", "source_amount", "target_amount", "value_date"):
        assert data[key], key
    assert data["target_amount"] == "1250.00"
    assert data["state"] == "completed"
    assert data["previous_state"] == "processing"
    assert OutboxEvent.objects.filter(type__startswith="payment_request.").count() == 7
