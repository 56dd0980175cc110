"""System checks: the Celery settings integrations relies on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from fintech.core.task_base import RETRY_BACKOFF_MAX_SECONDS

# The longest countdown any integrations task uses (sandbox latency, transient retries).
MAX_COUNTDOWN_SECONDS = 300


def countdown(seconds: float) -> float:
    """Every countdown goes through here: never longer than the visibility timeout, or Redis
    would redeliver the message while it waits and the task would run twice."""
    return float(min(max(seconds, 0), MAX_COUNTDOWN_SECONDS))


@register()
def celery_reliability(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    longest = max(settings.CELERY_TASK_TIME_LIMIT, MAX_COUNTDOWN_SECONDS)
    if visibility <= longest:
        errors.append(
            Error(
                f"Redis visibility_timeout ({visibility} s) must exceed the longest task or "
                f"countdown ({longest} s)",
                id="integrations.E001",
            )
        )
    if not (settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST):
        errors.append(
            Error("Celery must ack late and requeue on worker loss", id="integrations.E002")
        )
    if RETRY_BACKOFF_MAX_SECONDS > MAX_COUNTDOWN_SECONDS:
        errors.append(
            Error(
                f"the transient-error retry backoff ({RETRY_BACKOFF_MAX_SECONDS} s) must not "
                f"exceed MAX_COUNTDOWN_SECONDS ({MAX_COUNTDOWN_SECONDS} s)",
                id="integrations.E004",
            )
        )
    if settings.CELERY_WORKER_PREFETCH_MULTIPLIER != 1:
        errors.append(Error("Celery prefetch multiplier must be 1", id="integrations.E003"))
    return errors
