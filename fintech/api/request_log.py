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
- A row that cannot be written is parked as a dead letter (fintech/core/dead_letters.py)
  and the rest of its batch is written.
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
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.utils import timezone
from oauth2_provider.models import Application

from fintech.api.models import ApiRequestLog
from fintech.core.dead_letters import dead_letter_record, text_storable
from fintech.core.redis_client import redis_client, redis_later
from fintech.core.sql import insert

log = logging.getLogger(__name__)

KEY = "api:request-log"
DRAIN_BATCH = 1000
DEAD_LETTER_SOURCE = "api.request_log"


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
            method=text_storable(self.method)[:10],
            # PostgreSQL refuses NUL in text: a request for "/a%00b" is logged as "/a\x00b".
            path=text_storable(self.path)[:255],
            status=self.status,
            latency_ms=self.latency_ms,
            request_id=text_storable(self.request_id)[:64],
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
    """Move the queued rows into ApiRequestLog; returns how many were written.

    A row that cannot be written (unreadable, or refused by PostgreSQL) is parked as a dead
    letter and the others are written: one bad row must not stop the log for every client.
    Only when the database itself is unreachable does the batch go back on the list.
    """
    client = redis_client()
    written = 0
    while True:
        popped: list[bytes] | None = client.lpop(KEY, batch)  # type: ignore[assignment]
        if not popped:
            return written
        parsed: list[tuple[bytes, ApiRequestLog]] = []
        for raw in popped:
            try:
                parsed.append((raw, LoggedRequest(**json.loads(raw)).row()))
            except (ValueError, TypeError) as exc:  # not a row this code wrote
                _park(raw, exc)
        try:
            refused = _write(parsed)
        except (OperationalError, InterfaceError):
            # The database is away, not the rows at fault: put them back (at the head, in
            # order) for the next drain, then give up for now.
            if parsed:
                client.lpush(KEY, *reversed([raw for raw, _ in parsed]))
            raise
        for raw, error in refused:
            _park(raw, error)
        written += len(parsed) - len(refused)


def _park(raw: bytes, exc: BaseException) -> None:
    try:
        reference = str(json.loads(raw).get("request_id", ""))
    except (ValueError, AttributeError):
        reference = ""
    dead_letter_record(source=DEAD_LETTER_SOURCE, reference=reference, payload=raw, error=exc)


@transaction.atomic
def _write(parsed: list[tuple[bytes, ApiRequestLog]]) -> list[tuple[bytes, Exception]]:
    """Write the rows: in one INSERT, or, when PostgreSQL refuses it, one by one so only the
    rows at fault are left out. Returns those, with their errors."""
    # An application deleted since (or a test's rolled-back one) would break the foreign key:
    # such rows keep their request but lose the link, as SET_NULL would have done.
    wanted = {row.application_id for _, row in parsed if row.application_id is not None}
    existing = set(Application.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    for _, row in parsed:
        if row.application_id not in existing:
            row.application_id = None
    try:
        # A savepoint: a refused INSERT must not abort the transaction the retry runs in.
        with transaction.atomic():
            ApiRequestLog.objects.bulk_create([row for _, row in parsed])
        return []
    except (OperationalError, InterfaceError):
        raise
    except (DatabaseError, ValueError) as exc:
        log.warning("request log: a batch was refused (%s); writing it row by row", exc)
    refused: list[tuple[bytes, Exception]] = []
    for raw, row in parsed:
        row.pk = None
        try:
            with transaction.atomic():
                ApiRequestLog.objects.bulk_create([row])
        except (OperationalError, InterfaceError):
            raise
        except (DatabaseError, ValueError) as refusal:
            refused.append((raw, refusal))
    return refused
