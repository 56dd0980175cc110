"""Liveness and readiness (/health/live, /health/ready, `manage.py health`): readiness names
each check and says what failed; liveness touches nothing. Redis "down" is a port where
nothing listens (never the machine's own services); the worker is a real Celery worker."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from fintech.celery import app as celery_app
from fintech.core import health
from fintech.core.health import BEAT_TICK_KEY, beat_tick_record, readiness
from fintech.core.redis_client import redis_at
from tests.integrations.conftest import free_port, redis_server, start_worker, wait_for

__all__ = ["redis_server", "start_worker"]  # fixtures, imported for pytest


def nowhere() -> str:
    """A Redis URL with nothing listening, and a password that must never be shown."""
    return f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"


@pytest.mark.django_db
def test_with_redis_down_readiness_fails_with_the_reason_and_liveness_stays_up() -> None:
    with override_settings(REDIS_URL=nowhere()):
        ready = Client().get("/health/ready")
        live = Client().get("/health/live")
        alias = Client().get("/health/")

    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["migrations"] == {"ok": True}
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["redis"]["reason"].startswith("Redis unreachable")
    assert body["checks"]["celery_worker"]["reason"] == "skipped: Redis unreachable"
    assert set(body["failed"]) == {"redis", "celery_worker", "celery_beat"}
    # Public: no URL, host, port or password in the body.
    assert b"hunter2" not in ready.content
    assert b"127.0.0.1" not in ready.content
    assert b"redis://" not in ready.content

    assert (live.status_code, live.json()) == (200, {"status": "alive"})
    assert alias.status_code == 200


@pytest.mark.django_db
def test_the_command_prints_the_checks_and_exits_non_zero_when_not_ready() -> None:
    out = io.StringIO()
    with override_settings(REDIS_URL=nowhere()), pytest.raises(CommandError) as raised:
        call_command("health", stdout=out)
    assert raised.value.returncode == 1
    assert "not ready: redis, celery_worker, celery_beat" in str(raised.value)
    printed = out.getvalue()
    assert "ok   database" in printed
    assert "FAIL redis  Redis unreachable" in printed


@pytest.mark.django_db
def test_an_unapplied_migration_is_not_ready(monkeypatch) -> None:
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.recorder import MigrationRecorder

    monkeypatch.setattr(health, "_migrations_applied", set())  # no pass remembered
    app, name = MigrationLoader(connection).graph.leaf_nodes("core")[0]
    MigrationRecorder.Migration.objects.filter(app=app, name=name).delete()  # rolled back
    check = health.check_migrations()
    assert (check.ok, check.reason) == (False, "1 migration(s) not applied")


@pytest.mark.django_db
def test_a_stale_or_missing_beat_tick_is_not_ready(redis_server) -> None:
    with override_settings(REDIS_URL=redis_server.url, HEALTH_BEAT_MAX_AGE_SECONDS=60):
        client = redis_at(redis_server.url)
        client.delete(BEAT_TICK_KEY)
        checks = {c.name: c for c in readiness().checks}
        assert (checks["celery_beat"].ok, checks["celery_beat"].reason) == (
            False,
            "no beat tick recorded",
        )
        client.set(BEAT_TICK_KEY, "1000.0")  # 1970: long stale
        checks = {c.name: c for c in readiness().checks}
        assert checks["celery_beat"].ok is False
        assert "limit 60 s" in checks["celery_beat"].reason
        beat_tick_record()
        checks = {c.name: c for c in readiness().checks}
        assert checks["celery_beat"].ok is True


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_with_a_real_worker_and_beat_s_scan_run_the_platform_is_ready(
    redis_server, start_worker
) -> None:
    with override_settings(REDIS_URL=redis_server.url):
        redis_at(redis_server.url).delete(BEAT_TICK_KEY)
        before = {c.name: c.ok for c in readiness().checks}
        assert before["celery_worker"] is False

        start_worker()
        # What beat sends every few seconds; the worker's run records the tick.
        celery_app.send_task("integrations.scan_due")
        wait_for(lambda: redis_at(redis_server.url).get(BEAT_TICK_KEY), timeout=60)

        response = Client().get("/health/ready")
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "ready"
        assert response.json()["checks"]["celery_worker"] == {"ok": True}
        out = io.StringIO()
        call_command("health", stdout=out)
        assert out.getvalue().rstrip().endswith("ready")
