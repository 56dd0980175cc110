"""System checks: the Celery settings integrations relies on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register


@register()
def celery_reliability(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    # No task uses a countdown (delayed actions are due-time columns), so the longest a
    # message stays unacknowledged is the longest task.
    if visibility <= settings.CELERY_TASK_TIME_LIMIT:
        errors.append(
            Error(
                f"Redis visibility_timeout ({visibility} s) must exceed the longest task "
                f"({settings.CELERY_TASK_TIME_LIMIT} s)",
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
