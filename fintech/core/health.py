"""Liveness and readiness: what a load balancer, an orchestrator and an operator's shell ask.

- Liveness (`/health/live`, also `/health/`): the process answers. No dependency is touched,
  so a database or Redis outage never makes an orchestrator restart healthy web processes.
- Readiness (`/health/ready`, `manage.py health`): the database answers, Redis answers, every
  migration on disk is applied, a Celery worker answers a ping within
  HEALTH_WORKER_PING_TIMEOUT_MS, and beat's last tick is younger than
  HEALTH_BEAT_MAX_AGE_SECONDS. Any failure: 503, with each check named and the reason.

Beat's tick: `integrations.scan_due` (beat, every few seconds) calls `beat_tick_record`, which
stores the time in Redis. A fresh tick therefore says beat is scheduling and a worker is
running what it schedules. Redis restarted empty: the next scan records it again.

The bodies are public (unauthenticated probes): reasons name the kind of failure and the
error class, never a URL, host, user or password; the full error goes to the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

from fintech.core.redis_client import redis_at

logger = logging.getLogger(__name__)

BEAT_TICK_KEY = "fintech:health:beat_last_tick"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    reason: str = ""  # why not ok (or a short note when ok); safe to show the public


@dataclass(slots=True)
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ready" if self.ok else "not ready",
            "checks": {
                check.name: {"ok": check.ok, **({"reason": check.reason} if check.reason else {})}
                for check in self.checks
            },
            "failed": [check.name for check in self.checks if not check.ok],
        }


def _redis() -> redis.Redis:
    # Its own short timeouts, read per call: the setting may change (tests point it elsewhere).
    return redis_at(settings.REDIS_URL)


def beat_tick_record() -> None:
    """Called by the beat-driven scan: remember now as beat's last tick. Never raises (a
    health note must not fail the scan)."""
    try:
        _redis().set(BEAT_TICK_KEY, repr(time.time()))
    except redis.RedisError as exc:
        logger.debug("beat tick not recorded (Redis unavailable): %r", exc)


def _failure(name: str, what: str, exc: BaseException) -> Check:
    logger.warning("health: %s check failed: %r", name, exc)
    return Check(name, False, f"{what} ({type(exc).__name__})")


def check_database() -> Check:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return _failure("database", "database unreachable", exc)
    return Check("database", True)


# Reading the migration graph costs ~100 ms, too much for every probe. Once everything this
# process's code knows of is applied it stays applied (a migration is never rolled back under
# running code), so a pass is remembered for the process's life; a failure is checked again.
_migrations_applied: set[str] = set()


def check_migrations() -> Check:
    if DEFAULT_DB_ALIAS in _migrations_applied:
        return Check("migrations", True)
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return _failure("migrations", "could not read the migration state", exc)
    if plan:
        return Check("migrations", False, f"{len(plan)} migration(s) not applied")
    _migrations_applied.add(DEFAULT_DB_ALIAS)
    return Check("migrations", True)


def check_redis() -> Check:
    try:
        _redis().ping()
    except redis.RedisError as exc:
        return _failure("redis", "Redis unreachable", exc)
    return Check("redis", True)


def check_worker() -> Check:
    from fintech.celery import app

    timeout = settings.HEALTH_WORKER_PING_TIMEOUT_MS / 1000
    try:
        # limit=1: return at the first answer instead of waiting out the whole timeout.
        replies = app.control.ping(timeout=timeout, limit=1)
    except Exception as exc:
        return _failure("celery_worker", "could not ping the workers", exc)
    if not replies:
        return Check("celery_worker", False, f"no worker answered a ping within {timeout:g} s")
    return Check("celery_worker", True)


def check_beat() -> Check:
    limit = settings.HEALTH_BEAT_MAX_AGE_SECONDS
    try:
        raw = _redis().get(BEAT_TICK_KEY)
    except redis.RedisError as exc:
        return _failure("celery_beat", "could not read beat's last tick", exc)
    if raw is None:
        return Check("celery_beat", False, "no beat tick recorded")
    age = time.time() - float(raw)
    if age > limit:
        return Check("celery_beat", False, f"last tick {age:.0f} s ago (limit {limit} s)")
    return Check("celery_beat", True, f"last tick {max(age, 0):.0f} s ago")


def readiness() -> Report:
    report = Report()
    report.checks.append(check_database())
    database_ok = report.checks[-1].ok
    report.checks.append(
        check_migrations()
        if database_ok
        else Check("migrations", False, "skipped: database unreachable")
    )
    report.checks.append(check_redis())
    redis_ok = report.checks[-1].ok
    # The worker ping and beat's tick both travel through Redis: without it they would only
    # wait out their timeouts to say the same thing.
    dependent: list[tuple[str, Callable[[], Check]]] = [
        ("celery_worker", check_worker),
        ("celery_beat", check_beat),
    ]
    for name, check in dependent:
        report.checks.append(
            check() if redis_ok else Check(name, False, "skipped: Redis unreachable")
        )
    return report


# --- the HTTP endpoints (unauthenticated; bodies safe for the public) ------------------------


def health_live(request: HttpRequest) -> JsonResponse:
    """The process answers: nothing else is touched."""
    return JsonResponse({"status": "alive"})


def health_ready(request: HttpRequest) -> JsonResponse:
    report = readiness()
    response = JsonResponse(report.as_json(), status=200 if report.ok else 503)
    response["Cache-Control"] = "no-store"
    return response
