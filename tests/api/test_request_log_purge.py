"""The API request log is kept API_REQUEST_LOG_RETENTION_DAYS (0: forever), purged in
bounded batches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fintech.api.models import ApiRequestLog
from fintech.api.services import request_log_purge

pytestmark = pytest.mark.django_db


def logged(*, days_ago: int) -> ApiRequestLog:
    return ApiRequestLog.objects.create(
        method="GET",
        path="/api/v1/profile",
        status=200,
        latency_ms=1,
        request_id=f"req-{days_ago}",
        created_at=timezone.now() - timedelta(days=days_ago),
    )


def test_old_rows_go_in_bounded_batches_and_recent_ones_stay(settings) -> None:
    settings.API_REQUEST_LOG_RETENTION_DAYS = 30
    settings.RETENTION_BATCH_SIZE = 2
    settings.RETENTION_MAX_BATCHES = 1
    for days in (31, 40, 50):
        logged(days_ago=days)
    recent = logged(days_ago=29)

    assert request_log_purge() == 2  # one batch of two per run
    assert request_log_purge() == 1
    assert request_log_purge() == 0
    assert list(ApiRequestLog.objects.values_list("pk", flat=True)) == [recent.pk]


def test_zero_days_keeps_the_log(settings) -> None:
    settings.API_REQUEST_LOG_RETENTION_DAYS = 0
    logged(days_ago=400)
    assert request_log_purge() == 0
    assert ApiRequestLog.objects.count() == 1
