"""`make run` serves with gunicorn, sized to the machine; the development server only on request.
The web process is started as `make run` starts it and met with 100 clients at once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fintech import gunicorn_conf
from fintech.core.management.commands.platform_run import platform_processes

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_serves_with_gunicorn_and_runs_worker_and_beat() -> None:
    processes = platform_processes(devserver=False)
    assert set(processes) == {"web", "worker", "beat"}
    assert processes["web"].startswith(".venv/bin/gunicorn fintech.wsgi:application")
    assert "runserver" not in processes["web"]


def test_the_development_server_only_when_asked() -> None:
    processes = platform_processes(devserver=True)
    assert "manage.py runserver" in processes["web"]
    assert processes["worker"] == platform_processes(devserver=False)["worker"]


def test_workers_are_sized_to_the_machine() -> None:
    assert gunicorn_conf.default_workers() == 2 * len(os.sched_getaffinity(0)) + 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (our own server)
            response.read()
            return int(response.status)
    except OSError as exc:  # a reset connection, a refused one
        return -1 if not hasattr(exc, "code") else int(exc.code)


@pytest.fixture
def web_server():
    """The Procfile's web process, as `make run` starts it, on a free port."""
    port = free_port()
    env = dict(os.environ, PORT=str(port), WEB_CONCURRENCY="2")
    process = subprocess.Popen(
        ["bash", "-c", "exec " + platform_processes(devserver=False)["web"]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while get(f"{base}/health/") != 200:
        assert process.poll() is None, "gunicorn exited"
        assert time.monotonic() < deadline, "gunicorn did not answer in 30 s"
        time.sleep(0.2)
    yield port
    os.kill(process.pid, signal.SIGTERM)  # gunicorn's master stops its workers
    process.wait(timeout=30)


@pytest.mark.slow
def test_a_hundred_concurrent_clients_are_all_answered(web_server) -> None:
    url = f"http://127.0.0.1:{web_server}/health/"
    with ThreadPoolExecutor(max_workers=100) as pool:
        statuses = list(pool.map(lambda _: get(url), range(100)))
    assert statuses == [200] * 100


@pytest.mark.slow
def test_the_listen_backlog_holds_a_hundred_waiting_connections(web_server) -> None:
    """Django's development server listens with a backlog of 10: connections beyond it were
    reset under load (how many depends on the kernel's settings, hence this direct check)."""
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is not installed")
    listing = subprocess.run(
        ["ss", "-ltnH", f"sport = :{web_server}"], capture_output=True, text=True, check=True
    ).stdout.split()
    backlog = int(listing[2])  # State Recv-Q Send-Q: for a listener, Send-Q is the backlog
    assert backlog >= 100


@pytest.mark.slow
def test_static_files_are_served_under_gunicorn(web_server) -> None:
    assert get(f"http://127.0.0.1:{web_server}/static/admin/css/base.css") == 200
