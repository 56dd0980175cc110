"""Faults on the real pieces, mid-load (tests/faults/conftest.py builds the stack): each test
breaks one piece while customers' systems create and fund transfers through the API, then
asserts that every event was fanned out, every webhook delivered (at least once, same id),
every transfer reached a terminal state, no ledger key was posted twice and ledger_verify is
clean, within RECOVERY_SECONDS of the load's end.

The stated bound: a scan interval (5 s) plus the longest lease the fault can leave behind
(payout instructions 30 s, events 30 s; deliveries 15 s here), plus the simulator's steps."""

from __future__ import annotations

import time

import pytest
import requests

from tests.faults.conftest import Customer, Load, Stack, assert_recovered

pytestmark = pytest.mark.slow
RECOVERY_SECONDS = 90


def test_postgresql_restarted_mid_load(stack: Stack) -> None:
    load = Load(stack)
    load.run(stack.postgres.restart, fault_after=6)
    state = assert_recovered(stack, load, within=RECOVERY_SECONDS)
    assert state["transfers"].get("completed") == load.total


def test_the_receiver_down_mid_load(stack: Stack) -> None:
    """The customer's endpoint refuses connections for a while: deliveries retry (same
    webhook-id) and all arrive once it is back."""
    load = Load(stack)
    port = int(stack.receiver.url.split(":")[2].split("/")[0])

    def receiver_down() -> None:
        stack.receiver.stop()
        time.sleep(8)
        stack.receiver.start(port=port)

    load.run(receiver_down, fault_after=6)
    assert_recovered(stack, load, within=RECOVERY_SECONDS)


def test_redis_restarted_empty_mid_load(stack: Stack) -> None:
    """Every message in Redis is lost (relay kicks, dispatches, retries, the simulator's next
    steps): the database's scans find all the work again."""
    load = Load(stack)

    def redis_restarted_empty() -> None:
        stack.redis.stop()
        time.sleep(1)
        stack.redis.start()

    load.run(redis_restarted_empty, fault_after=6)
    assert_recovered(stack, load, within=RECOVERY_SECONDS)


def test_the_worker_killed_mid_load(stack: Stack) -> None:
    """SIGKILL: the tasks it held are neither acked nor requeued (Redis would redeliver them
    only after the visibility timeout, an hour); a new worker and the scans finish the work."""
    load = Load(stack)

    def worker_killed() -> None:
        stack.worker.kill()
        stack.worker.log.write_bytes(b"")  # its "ready." must be the new one's
        stack.worker.start()

    load.run(worker_killed, fault_after=6)
    assert_recovered(stack, load, within=RECOVERY_SECONDS)


def test_the_api_answers_503_with_retry_after_while_postgresql_is_down(web_stack: Stack) -> None:
    """Not a 500: the server stopped for real (gunicorn keeps its persistent connections);
    and the partner's webhook door says 503 with Retry-After too."""
    stack = web_stack
    customer = Customer(stack)
    headers = {"Authorization": f"Bearer {customer.token_fetch()}"}
    before = requests.get(f"{stack.base_url}/api/v1/transfers", headers=headers, timeout=30)
    assert before.status_code == 200
    stack.postgres.stop()
    try:
        api = requests.get(f"{stack.base_url}/api/v1/transfers", headers=headers, timeout=30)
        inbound = requests.post(
            f"{stack.base_url}/webhooks/payout-sandbox/", data=b"{}", timeout=30
        )
    finally:
        stack.postgres.start()
    assert api.status_code == 503, api.text
    assert api.headers["Content-Type"] == "application/problem+json"
    assert api.json()["code"] == "service_unavailable"
    assert int(api.headers["Retry-After"]) > 0
    assert inbound.status_code == 503, inbound.text
    assert int(inbound.headers["Retry-After"]) > 0
    # And it serves again once the database is back.
    again = requests.get(f"{stack.base_url}/api/v1/transfers", headers=headers, timeout=30)
    assert again.status_code == 200, again.text
