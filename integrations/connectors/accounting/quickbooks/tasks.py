"""Celery tasks of the QuickBooks connector (stable names)."""

from __future__ import annotations

from celery import shared_task

from integrations.connectors.accounting.quickbooks import reconcile


@shared_task(name="integrations.quickbooks_reconcile", ignore_result=True)
def quickbooks_reconcile(hours: int = reconcile.DEFAULT_HOURS) -> dict[str, int]:
    """Beat's safety net behind the webhooks: every active QuickBooks connection's changes
    of the last `hours` (one CDC call each), compared with what we synced; returns the objects
    compared per connection (-1: it could not be read now, left for the next run)."""
    return reconcile.reconcile_all(hours)
