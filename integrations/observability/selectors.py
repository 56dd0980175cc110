"""Gauges of the integrations' state, read from the database: what an operator (the admin's
integration health page) and Prometheus (`/metrics`) look at first when something is late."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Min, Q
from django.utils import timezone

from fintech.core.models import OutboxEvent
from integrations.models import InboundWebhook, KycCheck, PayoutInstruction, WebhookDelivery
from integrations.sync.models import Connection, SyncJob, SyncMismatch
from integrations.sync.selectors import (
    BACKLOG_STATES,
    connection_token_status,
    connections_with_backlog,
)


@dataclass(frozen=True)
class Gauge:
    name: str
    help: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectionHealth:
    """One sync connection as the health page and Prometheus see it (no customer data)."""

    connection_id: int
    provider: str
    owner: str
    status: str
    backlog: int
    oldest_waiting_seconds: float
    failed: int
    dead: int
    token_status: str
    token_expires_at: datetime | None


def sync_connection_health() -> list[ConnectionHealth]:
    """Every connection not disconnected, with its queue (one query)."""
    now = timezone.now()
    rows = connections_with_backlog(
        Connection.objects.exclude(status=Connection.Status.DISCONNECTED)
    ).order_by("pk")
    return [
        ConnectionHealth(
            connection_id=c.pk,
            provider=c.provider,
            owner="platform" if c.owner == Connection.Owner.PLATFORM else f"profile {c.profile_id}",
            status=c.status,
            backlog=c.jobs_pending + c.jobs_retry,  # type: ignore[attr-defined]
            oldest_waiting_seconds=(
                (now - c.oldest_waiting_at).total_seconds()  # type: ignore[attr-defined]
                if c.oldest_waiting_at  # type: ignore[attr-defined]
                else 0.0
            ),
            failed=c.jobs_failed,  # type: ignore[attr-defined]
            dead=c.jobs_dead,  # type: ignore[attr-defined]
            token_status=connection_token_status(c),
            token_expires_at=c.token_expires_at,
        )
        for c in rows
    ]


def sync_gauges(connections: list[ConnectionHealth] | None = None) -> list[Gauge]:
    """The sync engine's totals and, per connection, its queue and its grant."""
    now = timezone.now()
    jobs = SyncJob.objects.aggregate(
        backlog=Count("pk", filter=Q(state__in=BACKLOG_STATES)),
        oldest=Min("created_at", filter=Q(state__in=BACKLOG_STATES)),
        failed=Count("pk", filter=Q(state=SyncJob.State.FAILED)),
        dead=Count("pk", filter=Q(state=SyncJob.State.DEAD)),
        stuck=Count("pk", filter=Q(state=SyncJob.State.IN_FLIGHT, locked_until__lt=now)),
    )
    mismatches = SyncMismatch.objects.filter(status=SyncMismatch.Status.OPEN).count()
    if connections is None:
        connections = sync_connection_health()
    oldest = jobs["oldest"]
    gauges = [
        Gauge("sync_jobs_backlog", "Sync jobs pending or waiting to retry", jobs["backlog"]),
        Gauge(
            "sync_jobs_oldest_waiting_age_seconds",
            "Age of the oldest sync job pending or waiting to retry (0 if none)",
            (now - oldest).total_seconds() if oldest else 0.0,
        ),
        Gauge(
            "sync_jobs_failed", "Sync jobs the provider refused (an operator acts)", jobs["failed"]
        ),
        Gauge("sync_jobs_dead", "Sync jobs that used up their retries", jobs["dead"]),
        Gauge("sync_jobs_stuck", "Sync jobs in flight whose lease lapsed", jobs["stuck"]),
        Gauge("sync_mismatches_open", "Sync mismatches not yet resolved", mismatches),
        Gauge(
            "sync_connections_reconnect_required",
            "Connections paused until someone connects again",
            sum(1 for c in connections if c.status == Connection.Status.RECONNECT_REQUIRED),
        ),
    ]
    for c in connections:
        labels = {"connection": str(c.connection_id), "provider": c.provider}
        gauges += [
            Gauge(
                "sync_connection_backlog",
                "Sync jobs pending or waiting to retry, per connection",
                c.backlog,
                labels,
            ),
            Gauge(
                "sync_connection_oldest_waiting_age_seconds",
                "Age of the connection's oldest waiting sync job (0 if none)",
                c.oldest_waiting_seconds,
                labels,
            ),
            Gauge("sync_connection_failed", "Failed sync jobs, per connection", c.failed, labels),
            Gauge("sync_connection_dead", "Dead sync jobs, per connection", c.dead, labels),
            Gauge(
                "sync_connection_reconnect_required",
                "1 when the connection needs someone to connect again",
                1.0 if c.status == Connection.Status.RECONNECT_REQUIRED else 0.0,
                labels,
            ),
        ]
        if c.token_expires_at is not None:
            gauges.append(
                Gauge(
                    "sync_connection_token_expires_in_seconds",
                    "Seconds until the access token expires (negative: expired; it is "
                    "refreshed on next use)",
                    (c.token_expires_at - now).total_seconds(),
                    labels,
                )
            )
    return gauges


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
        *sync_gauges(),
    ]
