"""Celery tasks of the Xero connector (stable names)."""

from __future__ import annotations

from celery import shared_task

from integrations.connectors.accounting.xero import reconcile


@shared_task(name="integrations.accounting_reconcile", ignore_result=True)
def accounting_reconcile() -> dict[str, int]:
    """Nightly (beat): every active Xero connection of the platform's books, its fees
    against Xero; each difference becomes a SyncMismatch."""
    return reconcile.reconcile_all()
