"""Xero's limits and the steered faults, per tenant, over HTTP: 429 after the per-minute limit
with Retry-After and X-Rate-Limit-Problem, the remaining counts on every answer, concurrent
calls, and the control endpoint's latency, 429 and 5xx percentages."""

from __future__ import annotations

import threading
import time

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)


def steer(xero, **settings) -> dict:
    response = xero.control("", {"reset_limits": True, **settings})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_per_minute_limit_answers_429_with_retry_after(xero) -> None:
    steer(xero, rate_per_minute=5)
    if time.time() % 60 > 50:  # not across a minute boundary: the window would reset
        time.sleep(61 - time.time() % 60)
    remaining = []
    for _ in range(5):
        answer = xero.call("GET", "Organisation")
        assert answer.status_code == 200
        remaining.append(int(answer.headers["X-MinLimit-Remaining"]))
        assert int(answer.headers["X-DayLimit-Remaining"]) > 0
    assert remaining == [4, 3, 2, 1, 0]
    refused = xero.call("GET", "Organisation")
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert refused.headers["X-MinLimit-Remaining"] == "0"


def test_the_day_limit_is_its_own_problem(xero) -> None:
    steer(xero, rate_per_day=2)
    assert xero.call("GET", "Organisation").status_code == 200
    assert xero.call("GET", "Organisation").status_code == 200
    refused = xero.call("GET", "Organisation")
    assert (refused.status_code, refused.headers["X-Rate-Limit-Problem"]) == (429, "day")


def test_concurrent_calls_over_the_limit_are_refused(xero) -> None:
    steer(xero, concurrent_limit=2, latency_ms=800)
    statuses: list[tuple[int, str]] = []
    token = xero.session.token["access_token"]

    def call() -> None:
        answer = requests.get(
            f"{xero.api}/Organisation",
            headers={
                "Authorization": f"Bearer {token}",
                "xero-tenant-id": xero.tenant_id,
                "Accept": "application/json",
            },
            timeout=15,
        )
        statuses.append((answer.status_code, answer.headers.get("X-Rate-Limit-Problem", "")))

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(statuses).count((200, "")) >= 1
    assert (429, "concurrent") in statuses
    assert sum(1 for status, _ in statuses if status == 200) <= 2
    # Every slot was given back.
    steer(xero, latency_ms=0)
    assert xero.call("GET", "Organisation").status_code == 200


def test_steered_faults_and_latency(xero) -> None:
    steer(xero, error_5xx_percent=100)
    failed = xero.call("GET", "Organisation")
    assert failed.status_code == 503
    steer(xero, error_5xx_percent=0, error_429_percent=100)
    limited = xero.call("GET", "Organisation")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")
    steer(xero, error_429_percent=0, latency_ms=300)
    started = time.monotonic()
    assert xero.call("GET", "Organisation").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_the_control_endpoint_needs_the_sandbox_secret(xero) -> None:
    anonymous = requests.post(f"{xero.base}/control/{xero.tenant_id}", json={}, timeout=10)
    assert anonymous.status_code == 401
    wrong = requests.post(
        f"{xero.base}/control/{xero.tenant_id}",
        json={"latency_ms": 1},
        headers={"Authorization": "Bearer nope"},
        timeout=10,
    )
    assert wrong.status_code == 401
    shown = xero.control("", method="GET").json()
    assert shown["rate_per_minute"] == 100_000  # the test settings; nothing steered
    assert shown["currencies"] == ["GBP", "EUR", "USD"]
    bad = xero.control("", {"error_5xx_percent": 101})
    assert bad.status_code == 400


def test_a_second_org_is_another_tenant_with_its_own_currencies(xero, settings) -> None:
    created = requests.post(
        f"{xero.base}/control/orgs",
        json={"name": "Second Org (sandbox)", "base_currency": "EUR", "currencies": ["GBP"]},
        headers={"Authorization": f"Bearer {settings.XERO_SANDBOX_CLIENT_SECRET}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    tenant = created.json()["tenantId"]
    names = {
        c["tenantName"] for c in xero.session.get(f"{xero.base}/connections", timeout=10).json()
    }
    assert names == {"Demo Org (sandbox)", "Second Org (sandbox)"}
    xero.tenant_id = tenant
    assert xero.ok("GET", "Organisation")["Organisations"][0]["BaseCurrency"] == "EUR"
    accounts = {a["Code"]: a for a in xero.ok("GET", "Accounts")["Accounts"]}
    assert accounts["090"]["CurrencyCode"] == "EUR"
    assert "093" not in accounts  # no USD bank account: USD is not enabled there
