"""Beat task of monitoring: a few lines, calling the service."""

from __future__ import annotations

from celery import shared_task

from fintech.monitoring.services import monitoring_nightly_run


@shared_task(name="monitoring.nightly_run")
def monitoring_nightly_run_task() -> int:
    """Nightly: every active rule over the last two days of transfers (idempotent)."""
    return monitoring_nightly_run()
