"""Celery task of the sync engine (stable name; services.RUN_TASK publishes it by name)."""

from __future__ import annotations

from celery import shared_task

from integrations.sync import services


@shared_task(name="integrations.sync_job_run", ignore_result=True)
def sync_job_run(job_id: str) -> str:
    return services.job_run(job_id=int(job_id))
