"""The request id given to an API request follows it into the Celery tasks it caused, in a real
worker (a subprocess logging JSON, as in production): the outbox relay the request kicked, and
the event dispatch that relay published in turn. The worker's log holds no IBAN or token. And
each event's dispatch carries the id of the request that made the event, whoever relays it."""

from __future__ import annotations

import base64
import json

import pytest
import redis
from django.db import transaction
from django.test import Client

from fintech.core.logs import CELERY_HEADER, bind_request_id, clear_log_context
from fintech.core.models import OutboxEvent
from fintech.core.services import event_emit
from integrations.relay import outbox_relay
from tests.api.conftest import api_for, issue_client
from tests.integrations.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REQUEST_ID = "req-worker-7f3e"
DEMO_IBAN = "DE89370400440532013000"


@pytest.fixture(autouse=True)
def _clean_redis(redis_server):
    redis.Redis.from_url(redis_server.url).flushdb()


def json_lines(path) -> list[dict]:
    found = []
    for raw in path.read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            try:
                found.append(json.loads(raw))
            except ValueError:
                continue
    return found


def test_the_request_id_reaches_the_worker(start_worker, alice, settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    worker = start_worker(LOG_FORMAT="json")
    api = api_for(Client(), issue_client(alice))

    response = api.post(
        "/beneficiaries",
        {
            "holder_name": "Lieferant GmbH",
            "currency": "EUR",
            "country": "DE",
            "scheme": "iban",
            "details": {"iban": DEMO_IBAN, "bic": "COBADEFFXXX"},
        },
        X_REQUEST_ID=REQUEST_ID,
    )
    assert response.status_code == 201, response.content
    assert response["X-Request-Id"] == REQUEST_ID

    def tasks_with_our_id() -> set[str]:
        return {
            line.get("task", "")
            for line in json_lines(worker.log)
            if line.get("request_id") == REQUEST_ID
        }

    # The relay the request kicked, and the dispatch of the beneficiary's event it published.
    wait_for(
        lambda: {"integrations.outbox_relay", "integrations.event_dispatch"} <= tasks_with_our_id(),
        timeout=60,
    )
    text = worker.log.read_text(errors="replace")
    assert DEMO_IBAN not in text
    assert api.token not in text


def published_request_ids(redis_url: str) -> dict[str, str]:
    """event id -> the request id header of each event_dispatch message waiting in Redis."""
    found = {}
    for raw in redis.Redis.from_url(redis_url).lrange("celery", 0, -1):
        message = json.loads(raw)
        headers = message["headers"]
        if headers.get("task") == "integrations.event_dispatch":
            found[json.loads(base64.b64decode(message["body"]))[0][0]] = headers.get(
                CELERY_HEADER, ""
            )
    return found


def test_each_dispatch_carries_the_id_of_the_request_that_made_its_event(
    redis_server, alice
) -> None:
    """Stored with the event, and handed to its dispatch by whatever relay runs it: another
    request's kick or beat's scan (no id) does not take the event over."""
    with transaction.atomic():
        bind_request_id("req-made-it")
        made = event_emit(type="test.made", payload={}, profile_id=alice.pk)
        bind_request_id("")
        no_request = event_emit(type="test.scheduled", payload={}, profile_id=alice.pk)
    assert OutboxEvent.objects.get(pk=made.pk).request_id == "req-made-it"
    assert OutboxEvent.objects.get(pk=no_request.pk).request_id == ""

    bind_request_id("req-kicked-the-relay")
    try:
        outbox_relay()
    finally:
        clear_log_context()
    published = published_request_ids(redis_server.url)
    assert published[str(made.pk)] == "req-made-it"
    assert published[str(no_request.pk)] == ""
