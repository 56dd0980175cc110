"""Celery task of outbound webhooks (stable name: queued messages refer to it)."""

from __future__ import annotations

from celery import shared_task

from integrations.webhooks.services import delivery_attempt


@shared_task(name="integrations.webhook_deliver", ignore_result=True)
def webhook_deliver(delivery_id: str) -> str:
    return delivery_attempt(delivery_id=int(delivery_id))
