"""An API request's Redis commands after its work (its log row, the outbox relay's kick) go to
Redis together, in one round trip once the response has been sent."""

from __future__ import annotations

import json

import pytest
import redis
from django.core.signals import request_finished

from fintech.api.request_log import KEY as REQUEST_LOG_KEY
from fintech.celery import app as celery_app
from fintech.core.redis_client import redis_batch, redis_client, redis_later
from integrations.signals import KICK_KEY
from tests.integrations.conftest import point_celery_at, redis_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

KEY = "test:redis-batch"
QUOTE = {"source_currency": "GBP", "target_currency": "EUR", "source_amount": "250.00"}


def push(value: str, *, and_count: bool = False):
    def add(pipe: redis.client.Pipeline) -> int:
        pipe.rpush(KEY, value)
        if and_count:
            pipe.llen(KEY)
        return 2 if and_count else 1

    return add


def test_commands_in_a_batch_wait_for_its_end_and_each_gets_its_results() -> None:
    client = redis_client()
    client.delete(KEY)
    results: list[object] = []
    with redis_batch():
        redis_later(push("a"), results.append)
        redis_later(push("b", and_count=True), results.append)
        assert client.llen(KEY) == 0  # nothing sent yet
        assert results == []
    assert results == [[1], [2, 2]]
    # Outside a batch: sent at once.
    redis_later(push("c"), results.append)
    assert results[-1] == [3]
    assert client.lrange(KEY, 0, -1) == [b"a", b"b", b"c"]
    client.delete(KEY)


def test_an_after_response_batch_waits_until_the_request_has_finished() -> None:
    client = redis_client()
    client.delete(KEY)
    results: list[object] = []
    with redis_batch(after_response=True):
        redis_later(push("a"), results.append)
    assert client.llen(KEY) == 0  # the response is still on its way to the client
    # The WSGI server has sent the response and closes it: Django's request_finished.
    request_finished.send(sender=None)
    assert results == [[1]]
    assert client.lrange(KEY, 0, -1) == [b"a"]
    request_finished.send(sender=None)  # nothing left: nothing sent twice
    assert client.llen(KEY) == 1
    client.delete(KEY)


def test_with_redis_down_every_queued_command_hears_of_it(settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    results: list[object] = []
    with redis_batch():
        redis_later(push("a"), results.append)
        redis_later(push("b"), results.append)
    assert len(results) == 2
    assert all(isinstance(result, redis.RedisError) for result in results)


def _relay_tasks_queued(client: redis.Redis) -> int:
    messages = [json.loads(raw) for raw in client.lrange("celery", 0, -1)]
    return sum(1 for m in messages if m["headers"]["task"] == "integrations.outbox_relay")


@pytest.fixture
def broker_is_the_platforms_redis(settings, redis_server):  # noqa: F811 (the fixture)
    """Celery's broker on REDIS_URL, as by default (other tests may point it elsewhere).

    Both on this test process's own Redis: the shared REDIS_URL also holds the request-log
    rows and relay tasks of the other xdist processes' requests."""
    original_url, original_broker = settings.REDIS_URL, celery_app.conf.broker_url
    settings.REDIS_URL = redis_server.url
    point_celery_at(redis_server.url)
    yield
    point_celery_at(original_broker)
    settings.REDIS_URL = original_url


@pytest.mark.django_db(transaction=True)
def test_a_request_that_writes_an_event_kicks_the_relay_with_its_log_row(
    alice_api, broker_is_the_platforms_redis
) -> None:
    # The broker is the platform's Redis, so the kick rides with the log row.
    client = redis_client()
    client.delete(REQUEST_LOG_KEY, KICK_KEY, "celery")
    assert alice_api.post("/quotes", QUOTE).status_code == 201
    assert client.llen(REQUEST_LOG_KEY) == 1
    assert client.get(KICK_KEY) == b"1"
    assert _relay_tasks_queued(client) == 1
    # A second commit while that relay run has not started: no second task.
    assert alice_api.post("/quotes", QUOTE).status_code == 201
    assert _relay_tasks_queued(client) == 1
    assert client.llen(REQUEST_LOG_KEY) == 2
    client.delete(REQUEST_LOG_KEY, KICK_KEY, "celery")
