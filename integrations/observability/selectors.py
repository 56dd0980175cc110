"""Gauges of the integrations' state, read from the database: what an operator (the admin's
integration health page) and Prometheus (`/metrics`) look at first when something is late."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Min, Q
from django.utils import timezone

from fintech.core.models import OutboxEvent
from integrations.models import InboundWebhook, KycCheck, PayoutInstruction, WebhookDelivery


@dataclass(frozen=True)
class Gauge:
    name: str
    help: str
    value: float


def integration_gauges() -> list[Gauge]:
    """One query per table."""
    now = timezone.now()
    outbox = OutboxEvent.objects.aggregate(
        pending=Count("pk", filter=Q(status=OutboxEvent.Status.PENDING)),
        oldest=Min("occurred_at", filter=Q(status=OutboxEvent.Status.PENDING)),
        dead=Count("pk", filter=Q(status=OutboxEvent.Status.DEAD)),
    )
    deliveries = WebhookDelivery.objects.aggregate(
        pending=Count("pk", filter=Q(status=WebhookDelivery.Status.PENDING)),
        exhausted=Count("pk", filter=Q(status=WebhookDelivery.Status.EXHAUSTED)),
    )
    inbound = InboundWebhook.objects.aggregate(
        received=Count(
            "pk",
            filter=Q(status__in=[InboundWebhook.Status.RECEIVED, InboundWebhook.Status.PROCESSING]),
        ),
        failed=Count("pk", filter=Q(status=InboundWebhook.Status.FAILED)),
    )
    payouts = PayoutInstruction.objects.aggregate(
        pending=Count("pk", filter=Q(status=PayoutInstruction.Status.PENDING)),
        error=Count("pk", filter=Q(status=PayoutInstruction.Status.ERROR)),
    )
    kyc = KycCheck.objects.aggregate(
        pending=Count("pk", filter=Q(status=KycCheck.Status.PENDING)),
        error=Count("pk", filter=Q(status=KycCheck.Status.ERROR)),
    )
    oldest = outbox["oldest"]
    return [
        Gauge("outbox_pending", "Outbox events not yet fanned out", outbox["pending"]),
        Gauge(
            "outbox_oldest_unfinished_age_seconds",
            "Age of the oldest outbox event not yet fanned out (0 if none)",
            (now - oldest).total_seconds() if oldest else 0.0,
        ),
        Gauge(
            "outbox_dead", "Outbox events parked after repeated dispatch failures", outbox["dead"]
        ),
        Gauge(
            "webhook_deliveries_pending",
            "Webhook deliveries not yet delivered",
            deliveries["pending"],
        ),
        Gauge(
            "webhook_deliveries_exhausted",
            "Webhook deliveries that used up their retries",
            deliveries["exhausted"],
        ),
        Gauge(
            "inbound_webhooks_received",
            "Verified inbound webhooks not yet processed",
            inbound["received"],
        ),
        Gauge(
            "inbound_webhooks_failed", "Inbound webhooks whose processing failed", inbound["failed"]
        ),
        Gauge(
            "payout_instructions_pending",
            "Payout instructions not yet submitted",
            payouts["pending"],
        ),
        Gauge(
            "payout_instructions_error", "Payout instructions the partner refused", payouts["error"]
        ),
        Gauge("kyc_checks_pending", "KYC checks not yet created at the provider", kyc["pending"]),
        Gauge("kyc_checks_error", "KYC checks the provider refused", kyc["error"]),
    ]
