"""Outbound webhooks: subscriptions, the fan-out of events into deliveries, and attempts.

Rows first, tasks second: an event becomes one `WebhookDelivery` per subscribed endpoint (in
one transaction, unique per endpoint and event, so handing an event out twice delivers it
once); a task carries only the delivery id, claims it, makes one HTTP attempt outside any
transaction and records a `WebhookAttempt`. Retries are a `next_attempt_at` scanned by beat,
never a long countdown.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from fintech.core.dead_letters import dead_letter_record, text_storable
from fintech.core.errors import FieldError, NotFound, ValidationFailed
from fintech.core.metrics import metric_incr
from fintech.core.models import OutboxEvent
from fintech.core.services import Actor, audit_record, event_emit
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile
from integrations import claims
from integrations.events import CATALOGUE, TEST_EVENT_TYPE, body_for_event, event_body
from integrations.http import safe_post
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.ssrf import UnsafeUrl, check_url
from integrations.webhooks.signing import secret_generate, signed_headers

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 1000
DEAD_LETTER_SOURCE = WebhookDelivery.DEAD_LETTER_SOURCE
NO_OUTCOME = "no outcome recorded: the worker stopped during the attempt"
MAX_ENDPOINTS_PER_PROFILE = 20
# The delivery task (webhooks/tasks.py), published by name: tasks import services, not back.
DELIVER_TASK = "integrations.webhook_deliver"


@dataclass(frozen=True)
class EndpointWithSecret:
    """A new or rotated endpoint and its secret: the only time the secret is shown."""

    endpoint: WebhookEndpoint
    secret: str


# ---------------------------------------------------------------------------------------------
# Subscriptions


def _validated_url(url: str) -> str:
    url = (url or "").strip()
    try:
        check_url(url)
    except UnsafeUrl as exc:
        raise ValidationFailed([FieldError("url", "unsafe_url", str(exc))]) from exc
    return url


def _validated_event_types(event_types: list[str] | None) -> list[str]:
    types = sorted(set(event_types or []))
    unknown = [t for t in types if t not in CATALOGUE]
    if unknown:
        raise ValidationFailed(
            [FieldError("event_types", "unknown_event_type", f"unknown: {', '.join(unknown)}")]
        )
    return types


@service_transaction
def endpoint_create(
    *,
    actor: Actor,
    profile: Profile,
    url: str,
    event_types: list[str] | None = None,
    description: str = "",
) -> EndpointWithSecret:
    """Subscribe `url` to the profile's events; returns the `whsec_` secret (shown once)."""
    url = _validated_url(url)
    types = _validated_event_types(event_types)
    active = WebhookEndpoint.objects.filter(profile=profile, deleted_at__isnull=True).count()
    if active >= MAX_ENDPOINTS_PER_PROFILE:
        raise ValidationFailed(
            [
                FieldError(
                    "url", "too_many_endpoints", f"at most {MAX_ENDPOINTS_PER_PROFILE} endpoints"
                )
            ]
        )
    secret = secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        profile=profile, url=url, event_types=types, description=description, secret=secret
    )
    audit_record(
        actor=actor,
        action="webhook_endpoint.create",
        target=endpoint,
        data={"url": url, "event_types": types},
    )
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def _lock_endpoint(endpoint_id: int, *, profile: Profile | None = None) -> WebhookEndpoint:
    queryset = WebhookEndpoint.objects.select_for_update().filter(deleted_at__isnull=True)
    if profile is not None:
        queryset = queryset.filter(profile=profile)
    try:
        # Row lock: a rotation racing a delete (or two rotations) apply one after the other.
        return queryset.get(pk=endpoint_id)
    except (WebhookEndpoint.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(f"webhook endpoint {endpoint_id} not found") from exc


@service_transaction
def endpoint_delete(
    *, actor: Actor, endpoint_id: int, profile: Profile | None = None
) -> WebhookEndpoint:
    """Unsubscribe. The row and its delivery log stay (evidence); nothing more is sent."""
    endpoint = _lock_endpoint(endpoint_id, profile=profile)
    now = timezone.now()
    endpoint.deleted_at = now
    endpoint.is_enabled = False
    endpoint.disabled_reason = "deleted"
    endpoint.disabled_at = now
    endpoint.save()
    WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED, last_error="endpoint deleted", next_attempt_at=None
    )
    audit_record(actor=actor, action="webhook_endpoint.delete", target=endpoint)
    return endpoint


@service_transaction
def endpoint_rotate_secret(
    *,
    actor: Actor,
    endpoint_id: int,
    profile: Profile | None = None,
    previous_valid_hours: int | None = None,
) -> EndpointWithSecret:
    """A new secret; the old one keeps signing beside it for `previous_valid_hours`."""
    hours = (
        settings.WEBHOOK_PREVIOUS_SECRET_HOURS
        if previous_valid_hours is None
        else previous_valid_hours
    )
    if not 0 <= hours <= 24 * 7:
        raise ValidationFailed(
            [FieldError("previous_valid_hours", "invalid", "must be between 0 and 168")]
        )
    endpoint = _lock_endpoint(endpoint_id, profile=profile)
    secret = secret_generate()
    endpoint.previous_secret = endpoint.secret if hours else None
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=hours) if hours else None
    endpoint.secret = secret
    endpoint.save()
    audit_record(
        actor=actor,
        action="webhook_endpoint.rotate_secret",
        target=endpoint,
        data={"previous_valid_hours": hours},
    )
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


@service_transaction
def endpoint_enable(*, actor: Actor, endpoint_id: int, reason: str = "") -> WebhookEndpoint:
    endpoint = _lock_endpoint(endpoint_id)
    endpoint.is_enabled = True
    endpoint.disabled_reason = ""
    endpoint.disabled_at = None
    endpoint.failure_streak = 0
    endpoint.failing_since = None
    endpoint.save()
    audit_record(actor=actor, action="webhook_endpoint.enable", target=endpoint, reason=reason)
    return endpoint


def _disable(endpoint: WebhookEndpoint, *, actor: Actor, reason: str) -> None:
    """Disable a locked endpoint, tell its owner (an event) and fail what is pending."""
    if not endpoint.is_enabled:
        return
    endpoint.is_enabled = False
    endpoint.disabled_reason = reason[:500]
    endpoint.disabled_at = timezone.now()
    endpoint.save()
    WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED,
        last_error=f"endpoint disabled: {reason}"[:500],
        next_attempt_at=None,
    )
    audit_record(actor=actor, action="webhook_endpoint.disable", target=endpoint, reason=reason)
    # The owner's other endpoints (and operators' dashboards) learn about it.
    event_emit(
        type="webhook.endpoint_disabled",
        profile_id=endpoint.profile_id,
        payload={"endpoint_id": endpoint.pk, "url": endpoint.url, "reason": reason},
    )


@service_transaction
def endpoint_disable(*, actor: Actor, endpoint_id: int, reason: str) -> WebhookEndpoint:
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "required", "say why")])
    endpoint = _lock_endpoint(endpoint_id)
    _disable(endpoint, actor=actor, reason=reason.strip())
    return endpoint


# ---------------------------------------------------------------------------------------------
# Fan-out and (re)delivery


def _enqueue_deliveries(ids: list[int]) -> None:
    now = timezone.now()
    WebhookDelivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    claims.enqueue_on_commit(DELIVER_TASK, WebhookDelivery, *ids)


def deliveries_create_for_event(*, event: OutboxEvent) -> list[int]:
    """One pending delivery per enabled endpoint of the event's profile that wants its type.

    Idempotent: the unique (endpoint, event) constraint makes a second hand-out a no-op, so
    the relay may deliver an event to us more than once.
    """
    if event.profile_id is None:
        return []
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(
            profile_id=event.profile_id, is_enabled=True, deleted_at__isnull=True
        )
        if endpoint.wants(event.type)
    ]
    if not endpoints:
        return []
    now = timezone.now()
    body = body_for_event(event)
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event_id=event.pk,
                webhook_id=f"msg_{event.pk.hex}",
                event_type=event.type,
                payload=body,
                next_attempt_at=now,
            )
            for endpoint in endpoints
        ],
        ignore_conflicts=True,
    )
    ids = list(
        WebhookDelivery.objects.filter(
            event_id=event.pk, status=WebhookDelivery.Status.PENDING, attempts=0
        ).values_list("pk", flat=True)
    )
    _enqueue_deliveries(ids)
    return ids


@service_transaction
def endpoint_send_test(*, actor: Actor, endpoint_id: int, profile: Profile | None = None) -> int:
    """Queue a `webhook.test` event to this endpoint only; returns the delivery id."""
    endpoint = _lock_endpoint(endpoint_id, profile=profile)
    if not endpoint.is_enabled:
        raise ValidationFailed(
            [FieldError("endpoint", "endpoint_disabled", "enable the endpoint first")]
        )
    event_id = uuid.uuid4()
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=event_id,
        webhook_id=f"msg_{event_id.hex}",
        event_type=TEST_EVENT_TYPE,
        payload=event_body(
            event_id=str(event_id),
            type=TEST_EVENT_TYPE,
            version=1,
            occurred_at=now.isoformat(),
            data={"endpoint_id": endpoint.pk, "message": "This is a test event."},
        ),
        next_attempt_at=now,
    )
    audit_record(actor=actor, action="webhook_endpoint.send_test", target=endpoint)
    _enqueue_deliveries([delivery.pk])
    return delivery.pk


@service_transaction
def delivery_redeliver(*, actor: Actor, delivery_ids: list[int], reason: str = "") -> int:
    """Send again now (same webhook-id, same payload), whatever the delivery's status, to an
    enabled endpoint. Returns how many were queued."""
    queryset = WebhookDelivery.objects.filter(
        pk__in=delivery_ids, endpoint__is_enabled=True, endpoint__deleted_at__isnull=True
    )
    ids = list(queryset.values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=timezone.now(), locked_until=None
    )
    for delivery in WebhookDelivery.objects.filter(pk__in=ids).select_related("endpoint"):
        audit_record(
            actor=actor,
            action="webhook_delivery.redeliver",
            target=delivery,
            reason=reason,
            data={"endpoint_id": delivery.endpoint_id, "webhook_id": delivery.webhook_id},
        )
    _enqueue_deliveries(ids)
    return len(ids)


def deliveries_replay_failed_since(
    *, actor: Actor, since: datetime, endpoint_ids: list[int] | None = None, reason: str = ""
) -> int:
    """Redeliver every failed or exhausted delivery created since `since`."""
    queryset = WebhookDelivery.objects.filter(
        created_at__gte=since,
        status__in=[WebhookDelivery.Status.FAILED, WebhookDelivery.Status.EXHAUSTED],
    )
    if endpoint_ids is not None:
        queryset = queryset.filter(endpoint_id__in=endpoint_ids)
    ids = list(queryset.values_list("pk", flat=True))
    return delivery_redeliver(actor=actor, delivery_ids=ids, reason=reason) if ids else 0


def retry_delay(attempts: int) -> float | None:
    """Seconds before the next attempt after `attempts` failed ones; None when used up.
    Jitter of +/-10% spreads a crowd of retries (an endpoint back up after an outage)."""
    schedule: list[int] = settings.WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    return float(base * random.uniform(0.9, 1.1))  # noqa: S311 (jitter, not security)


# ---------------------------------------------------------------------------------------------
# One attempt


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    excerpt: str
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        found.append(endpoint.previous_secret)
    return found


def _post(url: str, body: str, headers: dict[str, str]) -> AttemptResult:
    started = time.monotonic()
    try:
        # Resolved and checked once, then connected to the checked address (DNS rebinding).
        response = safe_post(
            url, data=body.encode(), headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS
        )
        try:
            excerpt = response.raw.read(EXCERPT_CHARS * 4, decode_content=True) or b""
        finally:
            response.close()
        return AttemptResult(
            status_code=response.status_code,
            latency_ms=int((time.monotonic() - started) * 1000),
            # Whatever the receiver answers is stored: a NUL in it must not fail the record.
            excerpt=text_storable(excerpt.decode("utf-8", "replace")[:EXCERPT_CHARS]),
            error="",
        )
    except UnsafeUrl as exc:
        error = f"refused: {exc}"
    except requests.Timeout:
        metric_incr("provider_timeouts", labels={"provider": "webhook_endpoint"})
        error = f"timed out after {settings.WEBHOOK_TIMEOUT_SECONDS} s"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    return AttemptResult(
        status_code=None,
        latency_ms=int((time.monotonic() - started) * 1000),
        excerpt="",
        error=text_storable(error)[:500],
    )


def _claim(delivery_id: int) -> tuple[WebhookDelivery, WebhookAttempt] | None:
    now = timezone.now()
    ready = Q(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
    with transaction.atomic():
        if not claims.claim_one(
            WebhookDelivery,
            delivery_id,
            lease_seconds=settings.WEBHOOK_DELIVERY_LEASE_SECONDS,
            ready=ready,
        ):
            return None
        delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
        # Written before the request: if this worker dies mid-request, the attempt is on
        # record with this error, and the next attempt (same webhook-id) follows it.
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=now,
            error=NO_OUTCOME,
        )
    return delivery, attempt


def delivery_attempt(*, delivery_id: int) -> str:
    """Make the next attempt of a delivery if it is due and nobody else is on it.

    Returns what happened: skipped, succeeded, retry, exhausted, failed. A delivery that
    breaks the attempt itself (an endpoint row that cannot be read, a payload that cannot be
    sent or recorded) is failed and parked as a dead letter, so it is not picked up again and
    again while the others wait; operators redeliver it once the cause is fixed.
    """
    try:
        outcome = _attempt(delivery_id)
        if outcome != "skipped":
            metric_incr("webhook_delivery_attempts", labels={"outcome": outcome})
        return outcome
    except (OperationalError, InterfaceError):
        raise  # the database is away, not the delivery at fault: it stays due
    except Exception as exc:
        logger.exception("webhook delivery %s broke its attempt; parking it", delivery_id)
        return _park(delivery_id, exc)


def _park(delivery_id: int, exc: Exception) -> str:
    error = text_storable(f"parked: {type(exc).__name__}: {exc}")[:500]
    with transaction.atomic():
        claims.release(
            WebhookDelivery,
            delivery_id,
            status=WebhookDelivery.Status.FAILED,
            next_attempt_at=None,
            last_error=error,
        )
        # The attempt this claim opened, if its transaction got that far.
        latest = (
            WebhookAttempt.objects.filter(delivery_id=delivery_id)
            .order_by("-number")
            .values_list("pk", "error")
            .first()
        )
        if latest is not None and latest[1] == NO_OUTCOME:
            WebhookAttempt.objects.filter(pk=latest[0]).update(error=error)
    payload = (
        WebhookDelivery.objects.filter(pk=delivery_id)
        .values("endpoint_id", "event_id", "event_type", "payload")
        .first()
    )
    dead_letter_record(
        source=DEAD_LETTER_SOURCE, reference=str(delivery_id), payload=payload, error=exc
    )
    return "failed"


def _attempt(delivery_id: int) -> str:
    claimed = _claim(delivery_id)
    if claimed is None:
        return "skipped"
    delivery, attempt = claimed
    endpoint = delivery.endpoint
    if not endpoint.is_enabled or endpoint.deleted_at is not None:
        claims.release(
            WebhookDelivery,
            delivery.pk,
            status=WebhookDelivery.Status.FAILED,
            last_error=f"endpoint disabled: {endpoint.disabled_reason}"[:500],
        )
        WebhookAttempt.objects.filter(pk=attempt.pk).update(error="not sent: endpoint disabled")
        return "failed"

    now = timezone.now()
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
    headers = signed_headers(
        secrets_in_use=_signing_secrets(endpoint, now),
        webhook_id=delivery.webhook_id,
        timestamp=now,
        body=body,
    )
    # Outside any transaction on purpose: no row lock or open transaction is held during up
    # to WEBHOOK_TIMEOUT_SECONDS of network I/O; the claim (locked_until) keeps others off.
    result = _post(endpoint.url, body, headers)
    return _record(delivery, attempt, result)


@service_transaction
def _record(delivery: WebhookDelivery, attempt: WebhookAttempt, result: AttemptResult) -> str:
    now = timezone.now()
    WebhookAttempt.objects.filter(pk=attempt.pk).update(
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        response_excerpt=result.excerpt,
        error=result.error,
        succeeded=result.succeeded,
    )
    common: dict[str, Any] = {
        "locked_until": None,
        "last_attempt_at": now,
        "last_status_code": result.status_code,
        "last_error": result.error or ("" if result.succeeded else f"HTTP {result.status_code}"),
    }
    # Lock the endpoint: its failure streak and disabling are decided by one attempt at a time.
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    if result.succeeded:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.SUCCEEDED,
            succeeded_at=now,
            next_attempt_at=None,
            **common,
        )
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            failure_streak=0, failing_since=None, last_success_at=now
        )
        return "succeeded"

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failure_streak=F("failure_streak") + 1, failing_since=endpoint.failing_since or now
    )
    endpoint.refresh_from_db()
    system = Actor.system("webhooks")
    if result.status_code == 410:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, next_attempt_at=None, **common
        )
        _disable(endpoint, actor=system, reason="the endpoint answered 410 Gone")
        return "failed"
    if result.error.startswith("refused:"):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, next_attempt_at=None, **common
        )
        return "failed"
    limit = timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS)
    if endpoint.failing_since is not None and now - endpoint.failing_since >= limit:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, next_attempt_at=None, **common
        )
        _disable(
            endpoint,
            actor=system,
            reason=f"every delivery failed for {settings.WEBHOOK_DISABLE_AFTER_DAYS} days",
        )
        return "failed"
    delay = retry_delay(delivery.attempts)
    if delay is None:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.EXHAUSTED, next_attempt_at=None, **common
        )
        return "exhausted"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=now + timedelta(seconds=delay), **common
    )
    return "retry"


def deliveries_due() -> list[int]:
    """Deliveries whose next attempt is due (retries, lost messages, dead workers' claims).
    Each attempt goes out at its next_attempt_at, within one scan interval (5 s)."""
    return claims.take_due(
        WebhookDelivery,
        ready=Q(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()),
        limit=500,
        republish_after_seconds=settings.WEBHOOK_DELIVERY_LEASE_SECONDS,
        order_by=("next_attempt_at",),
        # A retry is published at its next_attempt_at, not held back by the republish window
        # of the attempt before it (which stamped enqueued_at earlier).
        due_field="next_attempt_at",
    )
