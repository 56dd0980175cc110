"""Celery tasks of reconciliation (stable names; beat rows in migration 0011)."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from integrations.reconciliation import runs


@shared_task(name="integrations.reconciliation_run", ignore_result=True)
def reconciliation_run(as_of: str | None = None) -> int:
    """Nightly (beat): yesterday in RECONCILIATION_TIME_ZONE, or the date (YYYY-MM-DD) the
    schedule's kwargs name; returns the run id."""
    day = date.fromisoformat(as_of) if as_of else None
    return int(runs.reconciliation_run(as_of=day, trigger="beat").pk)


@shared_task(name="integrations.reconciliation_watchdog", ignore_result=True)
def reconciliation_watchdog() -> bool:
    """Hourly (beat): alert when yesterday's run has not started by its time plus grace."""
    return runs.reconciliation_watchdog()
