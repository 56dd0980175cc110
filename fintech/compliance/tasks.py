"""Beat tasks of compliance: a few lines each, calling services."""

from __future__ import annotations

from celery import shared_task

from fintech.compliance.screening.services import sanctions_rescreen_due


@shared_task(name="compliance.sanctions_rescreen_due")
def sanctions_rescreen_due_task() -> int:
    """Every minute: a list version loaded and not yet rescreened is the due-time row."""
    return sanctions_rescreen_due()
