"""Celery tasks of reconciliation (stable names; beat rows in migration 0011)."""

from __future__ import annotations

from celery import shared_task

from integrations.reconciliation import runs


@shared_task(name="integrations.reconciliation_run", ignore_result=True)
def reconciliation_run() -> int:
    """Nightly (beat): yesterday in RECONCILIATION_TIME_ZONE; returns the run id."""
    return int(runs.reconciliation_run(trigger="beat").pk)


@shared_task(name="integrations.reconciliation_watchdog", ignore_result=True)
def reconciliation_watchdog() -> bool:
    """Hourly (beat): alert when yesterday's run has not started by its time plus grace."""
    return runs.reconciliation_watchdog()
