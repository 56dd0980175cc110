"""Celery task of the KYC provider (sandbox) connector (stable name: queued messages and the
scanner refer to it; handlers.CREATE_TASK)."""

from __future__ import annotations

from celery import shared_task

from integrations.connectors.kyc.sandbox import handlers


@shared_task(name="integrations.kyc_check_create", ignore_result=True)
def kyc_check_create(check_id: str) -> str:
    return handlers.kyc_check_create(check_id=int(check_id))
