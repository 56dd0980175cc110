"""Celery tasks of the partners' simulators (served by this project for the sandbox).

A step is a row with a due time (integrations/simulators/common.py): a message only wakes a
worker; a step not acknowledged by our endpoint is due again a few seconds later, found by
scan_due. Stable names: queued messages refer to them.
"""

from __future__ import annotations

from celery import shared_task

from integrations.simulators import kyc, payout
from integrations.simulators.crm import webhooks as crm_webhooks
from integrations.simulators.quickbooks import webhooks as quickbooks_webhooks
from integrations.simulators.xero import webhooks as xero_webhooks


@shared_task(name="integrations.sandbox_payout_advance", ignore_result=True)
def sandbox_payout_advance(payout_id: str) -> str:
    return payout.payout_advance(payout_id=payout_id)


@shared_task(name="integrations.sandbox_kyc_complete", ignore_result=True)
def sandbox_kyc_complete(check_id: str) -> str:
    return kyc.check_complete(check_id=check_id)


@shared_task(name="integrations.sandbox_xero_webhook_send", ignore_result=True)
def sandbox_xero_webhook_send(webhook_id: str) -> str:
    return xero_webhooks.webhook_send(webhook_id=webhook_id)


@shared_task(name="integrations.sandbox_quickbooks_webhook_send", ignore_result=True)
def sandbox_quickbooks_webhook_send(webhook_id: str) -> str:
    return quickbooks_webhooks.webhook_send(webhook_id=webhook_id)


@shared_task(name="integrations.sandbox_crm_webhook_send", ignore_result=True)
def sandbox_crm_webhook_send(webhook_id: str) -> str:
    return crm_webhooks.webhook_send(webhook_id=webhook_id)
