"""The base class of every Celery task: transient database errors are retried with backoff.

The database restarting (a deploy, a failover), refusing connections for a moment, a
serialization failure or a deadlock is not a bug: the same task a few seconds later succeeds.
So every task (this is the Celery app's `task_cls`, see fintech/celery.py) retries those
errors with exponential backoff and full jitter, countdowns capped at RETRY_BACKOFF_MAX_SECONDS
(short: a countdown must stay well under the broker's visibility timeout, see
integrations.checks), about five minutes in all. Each retry is counted in the
`tasks_retried_transient` metric.

A retry is a message in Redis, and Redis is not a record: every task's row (an outbox event,
a delivery, an instruction) is also found again by a scan after its lease, so a task whose
retry is lost with Redis, or whose "record the failure" step met the same dead database, is
recovered from the database.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from fintech.core.errors import TRANSIENT_DB_ERRORS, is_transient_db_error
from fintech.core.metrics import metric_incr

logger = logging.getLogger(__name__)

RETRY_BACKOFF_MAX_SECONDS = 60
# 1, 2, 4, ... 60, 60 s at most (full jitter: each between 0 and that): about five minutes.
TRANSIENT_MAX_RETRIES = 10


class TransientRetryTask(Task):
    autoretry_for = TRANSIENT_DB_ERRORS
    retry_backoff = 1
    retry_backoff_max = RETRY_BACKOFF_MAX_SECONDS
    retry_jitter = True
    retry_kwargs = {"max_retries": TRANSIENT_MAX_RETRIES}

    def on_retry(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        if is_transient_db_error(exc):
            logger.warning(
                "%s[%s] retried after a transient database error: %r", self.name, task_id, exc
            )
            metric_incr("tasks_retried_transient", labels={"task": self.name})
