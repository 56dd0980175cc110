"""One bad row must not stop the API request log for every client: the drain parks a row it
cannot write as a dead letter and writes the others (real Redis list, real PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from fintech.api.models import ApiRequestLog
from fintech.api.request_log import DEAD_LETTER_SOURCE, KEY, request_log_drain
from fintech.core.models import DeadLetter
from fintech.core.redis_client import redis_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_queue(request_log):
    """This process's own request log (tests/api/conftest.py), emptied after too."""
    yield
    redis_client().delete(KEY)


def queued(request_id: str, **overrides: object) -> bytes:
    row = {
        "application_id": None,
        "method": "GET",
        "path": "/api/v1/profile",
        "status": 200,
        "latency_ms": 3,
        "request_id": request_id,
        "created_at": "2026-12-01T10:00:00+00:00",
        **overrides,
    }
    return json.dumps(row).encode()


def test_a_request_with_a_nul_byte_in_its_path_is_logged(alice_api) -> None:
    response = alice_api.client.get("/api/v1/profile%00x")
    assert response.status_code == 400  # refused at the edge (invalid_character), and logged
    assert request_log_drain() == 1
    row = ApiRequestLog.objects.get()
    assert row.path == "/api/v1/profile\\x00x"
    assert not DeadLetter.objects.exists()


def test_a_row_postgres_refuses_is_parked_and_the_others_are_written() -> None:
    redis_client().rpush(
        KEY,
        queued("req-1"),
        # PostgreSQL refuses it: latency_ms is a positive integer column (a CHECK constraint).
        queued("req-bad", latency_ms=-5, path="/api/v1/a\x00b"),
        queued("req-2"),
        b"not json\x00 at all",
        queued("req-3", created_at="yesterday"),
        queued("req-4"),
    )

    assert request_log_drain() == 3

    assert sorted(ApiRequestLog.objects.values_list("request_id", flat=True)) == [
        "req-1",
        "req-2",
        "req-4",
    ]
    assert redis_client().llen(KEY) == 0  # nothing put back to fail again
    letters = {d.reference: d for d in DeadLetter.objects.filter(source=DEAD_LETTER_SOURCE)}
    assert set(letters) == {"req-bad", "", "req-3"}
    refused = letters["req-bad"]
    assert "IntegrityError" in refused.error_class
    assert "latency_ms" in refused.error_message
    assert '"latency_ms": -5' in refused.payload
    assert letters[""].payload == "not json\\x00 at all"  # the NUL kept, escaped
    assert "ValueError" in letters["req-3"].error_class
    assert refused.resolved_at is None

    # The next run has nothing left to trip on.
    redis_client().rpush(KEY, queued("req-5"))
    assert request_log_drain() == 1


def test_a_dead_letter_is_logged_at_error_level_with_its_event_name(caplog) -> None:
    redis_client().rpush(KEY, queued("req-x", status=70000))
    with caplog.at_level("ERROR", logger="fintech.core.dead_letters"):
        assert request_log_drain() == 0
    [record] = caplog.records
    assert record.getMessage().startswith("dead_letter.recorded: api.request_log req-x")
    assert record.event == "dead_letter.recorded"  # type: ignore[attr-defined]
