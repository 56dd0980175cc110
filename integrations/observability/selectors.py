"""Gauges of the integrations' state, read from the database: what an operator (the admin's
integration health page) and Prometheus (`/metrics`) look at first when something is late."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import redis
from celery import current_app
from django.db.models import Count, Min, Q
from django.utils import timezone

from fintech.core.logs import PUBLISHED_AT_HEADER
from fintech.core.models import OutboxEvent
from fintech.core.redis_client import redis_at
from fintech.payments.models import ApprovalFailure
from integrations.inbox.selectors import open_exception_counts
from integrations.models import InboundWebhook, KycCheck, PayoutInstruction, WebhookDelivery
from integrations.reconciliation.models import Mismatch
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
    kind: str = Connection.Kind.ACCOUNTING  # which admin screen shows it


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
            kind=c.kind,
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
        *reconciliation_and_erp_gauges(),
        *exception_gauges(),
        *celery_queue_gauges(),
    ]


def reconciliation_and_erp_gauges() -> list[Gauge]:
    """Open reconciliation mismatches by check (with the oldest's age), and ERP approval
    failures recorded by reason (rows are never deleted: it only grows, like a counter)."""
    now = timezone.now()
    gauges: list[Gauge] = []
    open_states = [Mismatch.State.OPEN, Mismatch.State.INVESTIGATING]
    by_check = (
        Mismatch.objects.filter(state__in=open_states)
        .values("check_name")
        .annotate(n=Count("pk"), oldest=Min("opened_at"))
        .order_by("check_name")
    )
    for row in by_check:
        labels = {"check": row["check_name"]}
        gauges.append(
            Gauge(
                "reconciliation_mismatches_open",
                "Reconciliation mismatches open or under investigation, by check",
                row["n"],
                labels,
            )
        )
        gauges.append(
            Gauge(
                "reconciliation_mismatch_oldest_age_seconds",
                "Age of the oldest open reconciliation mismatch, by check",
                (now - row["oldest"]).total_seconds(),
                labels,
            )
        )
    if not gauges:
        gauges.append(
            Gauge(
                "reconciliation_mismatches_open",
                "Reconciliation mismatches open or under investigation, by check",
                0,
                {"check": ""},
            )
        )
    failures = ApprovalFailure.objects.values("reason").annotate(n=Count("pk")).order_by("reason")
    for row in failures:
        gauges.append(
            Gauge(
                "erp_approval_failures_recorded",
                "ERP payment approvals refused or expired (recorded, never deleted), by reason",
                row["n"],
                {"reason": row["reason"]},
            )
        )
    return gauges


def exception_gauges() -> list[Gauge]:
    """The exception inbox's open items by source and severity (integrations/inbox)."""
    return [
        Gauge(
            "exceptions_open",
            "Exception inbox items open (not snoozed or resolved), by source and severity",
            row["count"],
            {"source": row["source"], "severity": row["severity"]},
        )
        for row in open_exception_counts()
    ]


def celery_queue_gauges() -> list[Gauge]:
    """The broker's task queue: messages waiting and the oldest one's age (from the publish
    time every message carries, fintech.core.logs). Absent when the broker cannot be read."""
    conf = current_app.conf  # the app's broker (tests point it at their own Redis)
    queue = str(conf.task_default_queue or "celery")
    try:
        broker = redis_at(str(conf.broker_url))
        waiting = int(broker.llen(queue))
        oldest_raw = broker.lindex(queue, -1)  # kombu pushes on the left, workers pop the right
    except redis.RedisError:
        return []
    age = 0.0
    if oldest_raw:
        try:
            published = json.loads(oldest_raw)["headers"].get(PUBLISHED_AT_HEADER)
            age = max(0.0, time.time() - float(published)) if published else 0.0
        except (ValueError, KeyError, TypeError, AttributeError):
            age = 0.0
    labels = {"queue": queue}
    return [
        Gauge(
            "queue_messages_waiting",
            "Task messages waiting in the broker, by queue",
            waiting,
            labels,
        ),
        Gauge(
            "queue_oldest_message_age_seconds",
            "Age of the oldest task message waiting in the broker, by queue (0 if none)",
            age,
            labels,
        ),
    ]
