"""Celery tasks of inbound webhooks (stable names: queued messages refer to them)."""

from __future__ import annotations

from celery import shared_task

from integrations.inbound import handoff, services


@shared_task(name="integrations.inbound_process", ignore_result=True)
def inbound_process(inbound_id: str) -> str:
    return services.inbound_process(inbound_id=inbound_id)


@shared_task(name="integrations.inbound_drain", ignore_result=True)
def inbound_drain() -> int:
    """Publish `inbound_process` for the ids the webhook endpoint pushed (see
    integrations/inbound/handoff.py)."""
    return handoff.drain()
