"""The worker's watchdog (fintech/core/worker_watchdog.py) on a real worker and a real Redis of
the test's own: a worker with nothing to do is left alone; a worker whose consumer takes no
message while its queue holds some is first made to reconnect (Celery's own reconnect runs),
then, still stalled, ends itself for its supervisor to start a new one.

The stall is made for real: the worker is told over Celery's remote control to stop consuming
its queue (`cancel_consumer`), which a reconnect does not undo, so both stages are seen."""

from __future__ import annotations

import subprocess
import sys
import time

from fintech.core.worker_watchdog import queue_keys
from tests.integrations.conftest import ROOT, RedisServer, Worker, wait_for, worker_env

STALL_SECONDS = 2


def test_queue_keys_cover_every_priority_list() -> None:
    assert queue_keys(["celery"]) == [
        "celery",
        "celery\x06\x163",
        "celery\x06\x166",
        "celery\x06\x169",
    ]


def test_a_stalled_consumer_reconnects_then_the_worker_ends_for_its_supervisor(tmp_path) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    log = tmp_path / "worker.log"
    worker = Worker(worker_env(redis.url, "http://127.0.0.1:9", WORKER_STALL_SECONDS="2"), log)
    try:
        worker.start()
        env = worker_env(redis.url, "http://127.0.0.1:9")

        def celery_cli(*args: str) -> str:
            # Celery's command line, on the test's Redis (this process's app publishes through
            # its producer pool, bound to the session's Redis).
            return subprocess.run(
                [sys.executable, "-m", "celery", "-A", "fintech", *args],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
            ).stdout  # fmt: skip

        # Broadcasts are Redis pub/sub: one sent before the worker's control consumer has
        # subscribed is lost, so ask until it answers.
        wait_for(
            lambda: (
                "no longer consuming from celery"
                in celery_cli("control", "cancel_consumer", "celery", "--timeout", "2")
            ),
            timeout=60,
        )

        # Nothing waiting: a quiet worker, not a stalled one (four watchdog windows).
        time.sleep(STALL_SECONDS * 4)
        assert worker.process is not None
        assert worker.process.poll() is None
        assert "stalled" not in log.read_text()

        celery_cli("call", "api.request_log_drain")

        def text() -> str:
            return log.read_text(errors="replace")

        wait_for(lambda: "worker consumer stalled: reconnecting" in text(), timeout=30)
        wait_for(
            lambda: worker.process is not None and worker.process.poll() is not None, timeout=60
        )
        lines = text().splitlines()

        def first(mark: str) -> int:
            return next(i for i, line in enumerate(lines) if mark in line)

        reconnect_asked = first("worker consumer stalled: reconnecting")
        lost = first("ConsumerStalled")  # Celery's "connection to broker lost" names our error
        connected_again = next(
            i for i, line in enumerate(lines) if "Connected to redis" in line and i > lost
        )
        ended = first("still stalled after a reconnect")
        assert reconnect_asked < lost < connected_again < ended
        assert "waiting_messages=1" in lines[ended]
    finally:
        worker.kill()
        redis.stop()
