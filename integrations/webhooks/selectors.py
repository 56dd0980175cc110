"""Reads of webhook subscriptions and their delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from fintech.core.errors import NotFound
from fintech.customers.models import Profile
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoints_for_profile(*, profile: Profile) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(profile=profile, deleted_at__isnull=True).order_by(
        "-created_at", "-id"
    )


def endpoint_get_for_profile(*, profile: Profile, endpoint_id: str | int) -> WebhookEndpoint:
    """Another business's endpoint is indistinguishable from a missing one (404)."""
    try:
        return endpoints_for_profile(profile=profile).get(pk=int(endpoint_id))
    except (WebhookEndpoint.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(f"webhook endpoint {endpoint_id} not found") from exc


def deliveries_for_endpoint(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")


def attempts_for_delivery(*, delivery: WebhookDelivery) -> QuerySet[WebhookAttempt]:
    return WebhookAttempt.objects.filter(delivery=delivery).order_by("number")
