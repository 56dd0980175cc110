"""Celery task of the payout partner (sandbox) connector (stable name: queued messages and
the scanner refer to it; handlers.SUBMIT_TASK)."""

from __future__ import annotations

from celery import shared_task

from integrations.connectors.payout.sandbox import handlers, recalls


@shared_task(name="integrations.payout_submit", ignore_result=True)
def payout_submit(instruction_id: str) -> str:
    return handlers.payout_submit(instruction_id=int(instruction_id))


@shared_task(name="integrations.payout_recall_submit", ignore_result=True)
def payout_recall_submit(recall_id: str) -> str:
    return recalls.recall_submit(recall_id=int(recall_id))
