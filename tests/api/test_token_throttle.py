"""/o/token/ answers a flood of wrong client secrets with 429 and Retry-After, counted per
client id and per address, through the real endpoint and the real Redis."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import secrets

import pytest
import time_machine
from django.test import Client

from fintech.api.scopes import TRANSFERS_READ
from tests.api.conftest import basic_auth, issue_client

pytestmark = pytest.mark.django_db

WINDOW = 300


def mid_window() -> dt.datetime:
    """The middle of the current throttle window: frozen there, it cannot roll over mid-test."""
    now = dt.datetime.now(dt.UTC).timestamp()
    return dt.datetime.fromtimestamp((now // WINDOW) * WINDOW + WINDOW / 2, dt.UTC)


def fresh_address() -> str:
    """An address no earlier run has counted (a CI run may reuse the last run's Redis)."""
    return "10." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))


def wrong_secret(issued) -> str:
    raw = f"{issued.client_id}:not-the-secret".encode()
    return "Basic " + base64.b64encode(raw).decode()


def token_request(client: Client, authorization: str, address: str):
    return client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": TRANSFERS_READ},
        HTTP_AUTHORIZATION=authorization,
        REMOTE_ADDR=address,
    )


@pytest.fixture
def low_limits(settings):
    settings.OAUTH_TOKEN_FAILURE_WINDOW_SECONDS = WINDOW
    settings.OAUTH_TOKEN_FAILURES_PER_CLIENT = 3
    settings.OAUTH_TOKEN_FAILURES_PER_ADDRESS = 5


def test_wrong_secrets_for_one_client_id_end_in_429_even_with_the_right_one(
    client, alice, low_limits
) -> None:
    issued = issue_client(alice, [TRANSFERS_READ])
    with time_machine.travel(mid_window(), tick=False):
        # From a different address each time: the client id's own count trips.
        statuses = [
            token_request(client, wrong_secret(issued), fresh_address()).status_code
            for _ in range(3)
        ]
        refused = token_request(client, basic_auth(issued), fresh_address())
    assert statuses == [401, 401, 401]
    assert refused.status_code == 429
    assert refused["Retry-After"] == str(WINDOW // 2)
    assert refused["Cache-Control"] == "no-store"
    assert json.loads(refused.content)["error"] == "too_many_requests"


def test_wrong_secrets_from_one_address_end_in_429_for_every_client(
    client, alice, low_limits
) -> None:
    # A different client id each time: the address's own count trips.
    clients = [issue_client(alice, [TRANSFERS_READ]) for _ in range(6)]
    address = fresh_address()
    with time_machine.travel(mid_window(), tick=False):
        statuses = [
            token_request(client, wrong_secret(issued), address).status_code
            for issued in clients[:5]
        ]
        refused = token_request(client, basic_auth(clients[5]), address)
        elsewhere = token_request(client, basic_auth(clients[5]), fresh_address())
    assert statuses == [401] * 5
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert elsewhere.status_code == 200  # another address, a client id with no failures


def test_successes_are_not_counted(client, alice, low_limits) -> None:
    issued = issue_client(alice, [TRANSFERS_READ])
    address = fresh_address()
    with time_machine.travel(mid_window(), tick=False):
        statuses = [
            token_request(client, basic_auth(issued), address).status_code for _ in range(8)
        ]
    assert statuses == [200] * 8


def test_without_redis_the_endpoint_answers_and_logs(
    client, alice, low_limits, settings, caplog
) -> None:
    issued = issue_client(alice, [TRANSFERS_READ])
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    address = fresh_address()
    with caplog.at_level(logging.WARNING, logger="fintech.api.throttling"):
        statuses = [
            token_request(client, wrong_secret(issued), address).status_code for _ in range(4)
        ]
        right = token_request(client, basic_auth(issued), address)
    assert statuses == [401] * 4
    assert right.status_code == 200
    assert "rate limiter unavailable" in caplog.text
