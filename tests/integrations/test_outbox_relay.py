"""The relay: SKIP LOCKED claims, marks only what it published, one kick per transaction,
and beat schedules created by a migration."""

from __future__ import annotations

import importlib
import json
import threading

import pytest
import redis
from django.db import connection, connections, transaction
from django_celery_beat.models import PeriodicTask

from fintech.celery import app as celery_app
from fintech.core.models import OutboxEvent
from fintech.core.services import event_emit, outbox_claim_batch
from integrations.relay import outbox_relay
from integrations.signals import relay_kick
from tests.integrations.conftest import point_celery_at


def test_beat_runs_the_relay_and_the_scanner(db) -> None:
    from django.apps import apps

    migration = importlib.import_module("integrations.migrations.0002_beat_schedules")
    # The data migration (re-run: transactional tests elsewhere flush the table).
    migration.create_schedules(apps, None)
    migration.create_schedules(apps, None)  # idempotent
    tasks = dict(PeriodicTask.objects.values_list("task", "interval__every"))
    assert tasks["integrations.outbox_relay"] <= 10
    assert tasks["integrations.scan_due"] <= 10


def test_one_kick_per_transaction(db) -> None:
    with transaction.atomic():
        for n in range(3):
            event_emit(type="test.happened", payload={"n": n}, profile_id=None)
        kicks = [f for _sids, f, _robust in connection.run_on_commit if f is relay_kick]
    assert len(kicks) == 1


def _queued(client: redis.Redis, task_name: str) -> int:
    messages = [json.loads(raw) for raw in client.lrange("celery", 0, -1)]
    return sum(1 for m in messages if m["headers"]["task"] == task_name)


@pytest.mark.django_db(transaction=True)
def test_commits_before_a_relay_run_share_one_kick(redis_server) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    for n in range(5):
        with transaction.atomic():
            event_emit(type="test.happened", payload={"n": n}, profile_id=None)
    # Five commits, one relay task waiting: it will relay all five.
    assert _queued(client, "integrations.outbox_relay") == 1
    assert outbox_relay().published == 5
    # That run has started: the next commit needs (and gets) a kick of its own.
    with transaction.atomic():
        event_emit(type="test.happened", payload={"n": 5}, profile_id=None)
    assert _queued(client, "integrations.outbox_relay") == 2
    # Handed out, not done: the five are leased until their dispatch commits the fan-out.
    pending = OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING)
    assert pending.filter(dispatch_until__isnull=False).count() == 5
    assert pending.filter(dispatch_until__isnull=True).count() == 1


@pytest.fixture
def broker_down():
    original = celery_app.conf.broker_url
    point_celery_at("redis://127.0.0.1:9/0")  # nothing listens there
    yield
    point_celery_at(original)


@pytest.mark.django_db(transaction=True)
def test_events_stay_pending_when_the_broker_is_down(broker_down) -> None:
    with transaction.atomic():
        event_emit(type="test.happened", payload={}, profile_id=None)
    result = outbox_relay()
    assert (result.claimed, result.published) == (1, 0)
    event = OutboxEvent.objects.get()
    assert event.status == OutboxEvent.Status.PENDING
    # Not handed out: no lease to wait for and no attempt counted towards parking it.
    assert (event.dispatch_until, event.dispatch_attempts) == (None, 0)


@pytest.mark.django_db(transaction=True)
def test_concurrent_relays_skip_each_others_rows() -> None:
    with transaction.atomic():
        for n in range(4):
            event_emit(type="test.happened", payload={"n": n}, profile_id=None)
    held = threading.Event()
    release = threading.Event()
    first: list[str] = []

    def other_relay() -> None:
        try:
            with transaction.atomic():
                first.extend(str(e.pk) for e in outbox_claim_batch(limit=2))
                held.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_relay)
    thread.start()
    try:
        assert held.wait(10)
        with transaction.atomic():
            # Not blocked by the other relay's locks: it takes the rows nobody holds.
            mine = [str(e.pk) for e in outbox_claim_batch(limit=10)]
    finally:
        release.set()
        thread.join(10)
    assert len(first) == 2
    assert len(mine) == 2
    assert not set(first) & set(mine)
