"""The API request log, kept off the request's database path.

Every API request is logged (application, method, path, status, latency, request id). Writing
that row to PostgreSQL in the request costs an INSERT and a commit of its own (a WAL flush) on
every call, reads included. So the request pushes the row onto a Redis list (one RPUSH), and
`request_log_drain` (beat, every few seconds) moves the rows into `ApiRequestLog` in bulk.

- Redis unreachable: the request writes its row to PostgreSQL itself, as before; nothing is
  lost.
- Rows reach the admin a few seconds late. Rows still on the list when Redis is lost (it keeps
  nothing on disk in development) are lost with it: this is operational monitoring, not the
  audit trail (that is written in each business transaction).
- With no worker draining, the list keeps at most API_REQUEST_LOG_QUEUE_MAX rows (the oldest
  are dropped, with a warning): losing old log rows beats Redis running out of memory.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import Application

from fintech.api.models import ApiRequestLog
from fintech.core.redis_client import redis_client, redis_later
from fintech.core.sql import insert

log = logging.getLogger(__name__)

KEY = "api:request-log"
DRAIN_BATCH = 1000


@dataclass(frozen=True)
class LoggedRequest:
    application_id: int | None
    method: str
    path: str
    status: int
    latency_ms: int
    request_id: str
    created_at: str  # ISO 8601, UTC

    def row(self) -> ApiRequestLog:
        return ApiRequestLog(
            application_id=self.application_id,
            method=self.method[:10],
            path=self.path[:255],
            status=self.status,
            latency_ms=self.latency_ms,
            request_id=self.request_id[:64],
            created_at=dt.datetime.fromisoformat(self.created_at),
        )


def request_log_record(
    *,
    application_id: int | None,
    method: str,
    path: str,
    status: int,
    latency_ms: int,
    request_id: str,
) -> None:
    """Log one served request; never raises (the log must not turn a response into an
    error)."""
    entry = LoggedRequest(
        application_id=application_id,
        method=method,
        path=path,
        status=status,
        latency_ms=latency_ms,
        request_id=request_id,
        created_at=timezone.now().isoformat(),
    )
    payload = json.dumps(asdict(entry), separators=(",", ":"))

    def push(pipe: redis.client.Pipeline) -> int:
        pipe.rpush(KEY, payload)
        return 1

    def pushed(results: list[Any] | redis.RedisError) -> None:
        if isinstance(results, redis.RedisError):
            log.warning("request log: Redis unavailable; writing the row directly")
            _write_directly(entry)
        elif results[0] > settings.API_REQUEST_LOG_QUEUE_MAX:
            _trim(queued=results[0])

    # With the request's other Redis commands, after its response is made (see redis_batch).
    redis_later(push, pushed)


def _trim(*, queued: int) -> None:
    try:
        redis_client().ltrim(KEY, -settings.API_REQUEST_LOG_QUEUE_MAX, -1)
    except redis.RedisError:
        return  # the next push trims
    log.warning("request log: %d rows queued and none drained; dropped the oldest", queued)


def _write_directly(entry: LoggedRequest) -> None:
    try:
        insert(entry.row())
    except Exception:
        log.warning("could not write the API request log", exc_info=True)


def request_log_drain(*, batch: int = DRAIN_BATCH) -> int:
    """Move the queued rows into ApiRequestLog; returns how many were written."""
    client = redis_client()
    written = 0
    while True:
        popped: list[bytes] | None = client.lpop(KEY, batch)  # type: ignore[assignment]
        if not popped:
            return written
        entries = [LoggedRequest(**json.loads(raw)) for raw in popped]
        try:
            _write(entries)
        except Exception:
            # Put them back (at the head, in order) for the next drain, then give up for now.
            client.lpush(KEY, *reversed(popped))
            raise
        written += len(entries)


@transaction.atomic
def _write(entries: list[LoggedRequest]) -> None:
    # An application deleted since (or a test's rolled-back one) would break the foreign key:
    # such rows keep their request but lose the link, as SET_NULL would have done.
    wanted = {e.application_id for e in entries if e.application_id is not None}
    existing = set(Application.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    rows = []
    for entry in entries:
        row = entry.row()
        if row.application_id not in existing:
            row.application_id = None
        rows.append(row)
    ApiRequestLog.objects.bulk_create(rows)
