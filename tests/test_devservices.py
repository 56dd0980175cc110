"""devservices: a second run uses the servers a live run owns instead of starting its own."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest
from django.conf import settings

from fintech import devservices
from tests.integrations.conftest import free_port


@pytest.fixture
def recorded(tmp_path, monkeypatch):
    path = tmp_path / "services.json"
    monkeypatch.setattr(devservices, "RUNNING", path)

    def record(pid: int, database_url: str, redis_url: str) -> None:
        path.write_text(
            json.dumps({"pid": pid, "DATABASE_URL": database_url, "REDIS_URL": redis_url})
        )

    return record


def test_the_servers_of_a_live_run_are_reused(recorded) -> None:
    database_url, redis_url = os.environ["DATABASE_URL"], settings.REDIS_URL
    recorded(os.getpid(), database_url, redis_url)  # a live process, servers that answer
    assert devservices._running_services() == {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
    }


def test_a_record_left_by_a_dead_run_is_ignored(recorded) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    recorded(int(gone.stdout), os.environ["DATABASE_URL"], settings.REDIS_URL)
    assert devservices._running_services() is None


def test_servers_that_no_longer_answer_are_ignored(recorded) -> None:
    closed = free_port()
    recorded(os.getpid(), f"postgres://postgres@127.0.0.1:{closed}/fintech", settings.REDIS_URL)
    assert devservices._running_services() is None


def test_no_record_no_reuse(recorded) -> None:
    assert devservices._running_services() is None


@pytest.mark.parametrize(("persist", "kept"), [("1", True), ("0", False)])
def test_the_embedded_redis_keeps_its_data_across_a_restart(
    tmp_path, monkeypatch, persist, kept
) -> None:
    """`make run` (persist) loses no queued message on a restart; `make test` starts empty."""
    import redis

    monkeypatch.setenv("FINTECH_REDIS_PERSIST", persist)
    first = devservices.EmbeddedRedis(tmp_path)
    client = redis.Redis.from_url(first.start())
    try:
        client.lpush("celery", "a queued message")
    finally:
        first.stop()
    second = devservices.EmbeddedRedis(tmp_path)
    client = redis.Redis.from_url(second.start())
    try:
        assert client.lrange("celery", 0, -1) == ([b"a queued message"] if kept else [])
    finally:
        second.stop()


def test_sigterm_stops_the_command_and_the_embedded_servers(tmp_path) -> None:
    """A supervisor's SIGTERM (or `timeout`) leaves no PostgreSQL or Redis behind."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(FINTECH_DATA_DIR=str(tmp_path), FINTECH_REDIS_PERSIST="0")
    run = subprocess.Popen(
        [sys.executable, "-m", "fintech.devservices", "run", "--", "sleep", "120"],
        env=env,
        cwd=devservices.ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        started = []
        for line in run.stdout or []:  # the two servers announce their ports, then sleep runs
            started.append(line)
            if "embedded Redis" in line:
                break
        ports = [int(line.rsplit(":", 1)[1]) for line in started if "127.0.0.1:" in line]
        assert len(ports) == 2, started
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 0
    finally:
        if run.poll() is None:
            run.kill()
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
