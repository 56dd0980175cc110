"""System checks: the Celery settings integrations relies on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from fintech.core.task_base import RETRY_BACKOFF_MAX_SECONDS


@register()
def celery_reliability(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    # Delayed actions are due-time columns; the only countdowns are the short backoffs of
    # transient-error retries (fintech/core/task_base.py). A message waiting longer than the
    # visibility timeout would be redelivered by Redis and run twice.
    longest = max(settings.CELERY_TASK_TIME_LIMIT, RETRY_BACKOFF_MAX_SECONDS)
    if visibility <= longest:
        errors.append(
            Error(
                f"Redis visibility_timeout ({visibility} s) must exceed the longest task or "
                f"retry countdown ({longest} s)",
                id="integrations.E001",
            )
        )
    if not (settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST):
        errors.append(
            Error("Celery must ack late and requeue on worker loss", id="integrations.E002")
        )
    if settings.CELERY_WORKER_PREFETCH_MULTIPLIER != 1:
        errors.append(Error("Celery prefetch multiplier must be 1", id="integrations.E003"))
    if settings.WEBHOOK_DELIVERY_LEASE_SECONDS <= settings.WEBHOOK_TIMEOUT_SECONDS:
        # A lease shorter than the request would let a second worker send the same delivery
        # while the first is still waiting for the answer.
        errors.append(
            Error(
                f"WEBHOOK_DELIVERY_LEASE_SECONDS ({settings.WEBHOOK_DELIVERY_LEASE_SECONDS}) must "
                f"exceed WEBHOOK_TIMEOUT_SECONDS ({settings.WEBHOOK_TIMEOUT_SECONDS})",
                id="integrations.E004",
            )
        )
    return errors
