"""Beat tasks of the API: a few lines each, calling services."""

from __future__ import annotations

from celery import shared_task

from fintech.api.request_log import request_log_drain
from fintech.api.services import idempotency_purge, request_log_purge


@shared_task(name="api.idempotency_purge")
def idempotency_purge_task() -> int:
    return idempotency_purge()


@shared_task(name="api.request_log_purge")
def request_log_purge_task() -> int:
    return request_log_purge()


@shared_task(name="api.request_log_drain", ignore_result=True)
def request_log_drain_task() -> int:
    return request_log_drain()
