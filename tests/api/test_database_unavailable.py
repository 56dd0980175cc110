"""A transient database error (PostgreSQL restarting, refusing connections) is a 503 with
Retry-After, never a 500: the client retries with the same Idempotency-Key."""

from __future__ import annotations

import json

import pytest

from tests.api.test_problems import problem
from tests.dbfaults import database_down

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_answers_503_with_retry_after_while_the_database_is_down(alice_api) -> None:
    with database_down():
        response = alice_api.get("/transfers")
        body = problem(response, 503, "service_unavailable")
        assert int(response["Retry-After"]) > 0
        assert "retry" in body["detail"].lower()

        # A money-moving POST too: nothing was stored, so the same key may be retried.
        response = alice_api.post("/quotes", {"source_currency": "GBP"}, key="quote-during-outage")
        problem(response, 503, "service_unavailable")
        assert response["Retry-After"]

    assert alice_api.get("/transfers").status_code == 200


def test_a_partners_webhook_gets_503_with_retry_after_while_the_database_is_down(client) -> None:
    """The partner retries a 5xx; a 500 would read as our bug and may be dropped."""
    body = json.dumps({"id": "evt_1", "type": "payout.sent"}).encode()
    with database_down():
        response = client.post("/webhooks/payout-sandbox/", body, content_type="application/json")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
    assert int(response["Retry-After"]) > 0


def test_the_problem_type_is_documented(client) -> None:
    response = client.get("/api/v1/problems/service_unavailable")
    assert json.loads(response.content)["status"] == 503
