"""API v1 create-transfer throughput under gunicorn, against a bare DRF endpoint that does one
INSERT, same server, same run (issue 4, item 11). Target: ratio >= 0.35.

What is measured, on 127.0.0.1 only, in a scratch database on the DATABASE_URL server:

- one gunicorn serving the project (`-w 2 --threads 1`, sync workers, persistent database
  connections as in production: CONN_MAX_AGE), with `bench.bare_settings`, i.e. the production
  settings plus the URLconf `bench.bare_urls` that adds `/bench/bare` next to the real routes;
- the load: PROCESSES x THREADS clients, each a `requests.Session`, closed loop (one request in
  flight per client), for SECONDS per phase or until the phase's op budget is used;
- phases, interleaved over ROUNDS short rounds so all see the same noise on a shared machine:
  * bare: `POST /bench/bare` (DRF view: JSON in and out, one INSERT, no auth, no throttle);
  * create-transfer (the figure held against the target): `POST /api/v1/transfers`, the
    request issue 4 names: it authenticates its bearer token (client credentials), takes its
    Idempotency-Key, reads and checks the quote it spends and the beneficiary, and creates
    the transfer. Its quotes are made beforehand through `quote_create`, as an integrator
    asks for a quote (and shows it) before confirming the transfer;
  * pair (for information): the integrator's whole flow, `POST /api/v1/quotes` then
    `POST /api/v1/transfers` from that quote, each with its own Idempotency-Key: two API
    requests per op, shown per pair and per request.
  Every API request goes through the whole production path: token lookup, scope check, the
  per-application rate limit in Redis, the idempotency row, the service (audit row, outbox
  event, row history), the stored response and the API request log.

Run: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0
.venv/bin/python -m bench.api_create_transfer`
"""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests

from bench.common import ROOT, clock, django_setup, migrate, scratch_database

# Short phases, many rounds: this machine's speed drifts over seconds, and a ratio of phases
# run far apart measures the drift as much as the code.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "4"))
PROCESSES = int(os.environ.get("BENCH_CLIENT_PROCESSES", "2"))
THREADS = int(os.environ.get("BENCH_CLIENT_THREADS", "2"))
MAX_OPS_PER_PHASE = 50_000  # a bound on count as well as on time
QUOTES_PER_ROUND = 2_500  # for the create-transfer phase, created beforehand
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
TARGET = 0.35
QUOTE_BODY = {"source_currency": "GBP", "target_currency": "EUR", "source_amount": "100.00"}


@dataclass
class Phase:
    ops: int = 0
    errors: int = 0
    api_requests: int = 0  # sent to /api/ (each one must reach the request log)
    seconds: float = 0.0
    first_error: str = ""
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def merge(self, other: Phase) -> None:
        self.ops += other.ops
        self.errors += other.errors
        self.api_requests += other.api_requests
        self.seconds = max(self.seconds, other.seconds)
        self.first_error = self.first_error or other.first_error
        self.latencies.extend(other.latencies)


def p99_ms(latencies: list[float]) -> float:
    if not latencies:
        return float("nan")
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


# --- the load generator (child processes) ------------------------------------------------


def _client_loop(base, token, mode, beneficiary_id, quote_ids, deadline, budget, tag, result):
    session = requests.Session()
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(path: str, body: dict, *, api: bool = True) -> requests.Response:
        headers = {**auth, "Idempotency-Key": str(uuid.uuid4())} if api else {}
        return session.post(f"{base}{path}", json=body, headers=headers, timeout=30)

    def transfer(quote_id: str, n: int) -> requests.Response:
        body = {
            "quote_id": quote_id,
            "beneficiary_id": beneficiary_id,
            "customer_transaction_id": f"{tag}-{n}",
        }
        return post("/api/v1/transfers", body)

    quotes = iter(quote_ids)
    n = 0
    while clock() < deadline and n < budget:
        n += 1
        started = clock()
        if mode == "bare":
            response = post("/bench/bare", {"note": tag}, api=False)
        elif mode == "pair":
            response = post("/api/v1/quotes", QUOTE_BODY)
            result.api_requests += 1
            if response.status_code == 201:
                response = transfer(response.json()["id"], n)
                result.api_requests += 1
        else:  # "transfer"
            quote_id = next(quotes, None)
            if quote_id is None:
                break
            response = transfer(quote_id, n)
            result.api_requests += 1
        elapsed = clock() - started
        if response.status_code == 201:
            result.ops += 1
            result.latencies.append(elapsed)
        else:
            result.errors += 1
            result.first_error = result.first_error or f"{response.status_code} {response.text}"
    session.close()


def _load_process(base, token, mode, beneficiary_id, quote_ids, seconds, budget, tag, start, out):
    threads, results = [], []
    per_thread = [quote_ids[i::THREADS] for i in range(THREADS)]
    start.wait()
    began = clock()
    deadline = began + seconds
    for i in range(THREADS):
        result = Phase()
        results.append(result)
        args = (base, token, mode, beneficiary_id, per_thread[i], deadline, budget)
        threads.append(threading.Thread(target=_client_loop, args=(*args, f"{tag}-{i}", result)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = Phase(seconds=clock() - began)
    for result in results:
        total.merge(result)
    out.put(total)


def run_phase(
    base: str,
    token: str,
    mode: str,
    *,
    beneficiary_id: int,
    quote_ids: list[str],
    tag: str,
    seconds: float = SECONDS,
    max_ops: int = MAX_OPS_PER_PHASE,
) -> Phase:
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(PROCESSES + 1)
    out = ctx.Queue()
    processes = [
        ctx.Process(
            target=_load_process,
            args=(
                base,
                token,
                mode,
                beneficiary_id,
                quote_ids[i::PROCESSES],
                seconds,
                max_ops // (PROCESSES * THREADS),
                f"{tag}-p{i}",
                start,
                out,
            ),
        )
        for i in range(PROCESSES)
    ]
    for p in processes:
        p.start()
    start.wait(timeout=60)
    total = Phase()
    for _ in processes:
        total.merge(out.get(timeout=seconds + 120))
    for p in processes:
        p.join(timeout=30)
    return total


# --- the server and its data (this process) ----------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(url: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "bench.bare_settings",
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    command = [
        sys.executable, "-m", "gunicorn", "fintech.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--threads", "1",
        "--worker-class", "sync", "--log-level", "warning", "--timeout", "60",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {log.name}")
            try:
                if requests.get(f"{base}/health/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still booting
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within 60 s; see {log.name}")
            time.sleep(0.2)
        print(f"   gunicorn {' '.join(command[3:])} (log {log.name})")
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@dataclass(frozen=True)
class Setup:
    profile_id: int
    beneficiary_id: int
    client_id: str
    client_secret: str


def create_data() -> Setup:
    """A verified business with an EUR beneficiary and an API client, through the services."""
    from django.db import connection

    from bench.bare_urls import CREATE_TABLE
    from bench.common import bench_customer
    from fintech.api.scopes import ALL_SCOPES
    from fintech.api.services import api_client_create

    actor, profile, beneficiary = bench_customer()
    try:  # the wallet funding service arrives with the ledger wiring of the transfers
        from fintech.wallets.services import wallet_fund
    except ImportError:
        pass
    else:
        wallet_fund(
            actor=actor,
            profile=profile,
            currency="GBP",
            amount_minor=10**13,
            external_reference="bench-funding",
        )
    issued = api_client_create(
        actor=actor,
        profile=profile,
        name="Bench ERP",
        scopes=list(ALL_SCOPES),
        # The benchmark measures throughput, not the limiter's verdict (its Redis INCR still
        # runs on every request).
        rate_limit_per_minute=10**9,
    )
    with connection.cursor() as cursor:
        cursor.execute(CREATE_TABLE)
    return Setup(profile.pk, beneficiary.pk, issued.client_id, issued.client_secret)


def create_quotes(profile_id: int, count: int) -> list[str]:
    from fintech.core.services import Actor
    from fintech.customers.models import Profile
    from fintech.quotes.services import quote_create

    profile = Profile.objects.get(pk=profile_id)
    actor = Actor.system("bench")
    return [str(quote_create(actor=actor, profile=profile, **QUOTE_BODY).pk) for _ in range(count)]


def fetch_token(base: str, setup: Setup) -> str:
    response = requests.post(
        f"{base}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(setup.client_id, setup.client_secret),
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def main() -> int:
    print(
        f"== API v1 create-transfer vs a bare DRF insert under gunicorn ({WORKERS} sync "
        f"workers), {PROCESSES}x{THREADS} keep-alive clients, {ROUNDS} interleaved rounds of "
        f"{SECONDS}s per phase"
    )
    modes = ("bare", "transfer", "pair")
    phases = {mode: Phase() for mode in modes}
    rates: dict[str, list[float]] = {mode: [] for mode in modes}
    with scratch_database("bench_api") as url:
        django_setup(url)
        migrate()
        setup = create_data()
        from fintech.api.request_log import KEY, request_log_drain
        from fintech.core.redis_client import redis_client

        redis_client().delete(KEY)  # the request log's queue: this run's rows only
        with gunicorn(url) as base:
            token = fetch_token(base, setup)
            warm = create_quotes(setup.profile_id, 40)
            for mode in modes:  # warm up every worker's connection and caches
                warm_up = run_phase(
                    base, token, mode, beneficiary_id=setup.beneficiary_id,
                    quote_ids=warm if mode == "transfer" else [], tag=f"warm-{mode}",
                    seconds=2, max_ops=40,
                )  # fmt: skip
                phases[mode].api_requests += warm_up.api_requests
            for round_ in range(ROUNDS):
                quotes = create_quotes(setup.profile_id, QUOTES_PER_ROUND)
                figures = []
                for mode in modes:
                    result = run_phase(
                        base,
                        token,
                        mode,
                        beneficiary_id=setup.beneficiary_id,
                        quote_ids=quotes if mode == "transfer" else [],
                        tag=f"r{round_}-{mode}",
                    )
                    phases[mode].merge(result)
                    rates[mode].append(result.rate)
                    figures.append(f"{mode} {result.rate:,.0f}/s")
                print(f"   round {round_ + 1}: {', '.join(figures)}")
        from fintech.transfers.models import Transfer

        transfers = Transfer.objects.filter(profile_id=setup.profile_id).count()
        logged = request_log_drain()

    def mean_rate(mode: str) -> float:
        return sum(rates[mode]) / len(rates[mode])

    bare, pair, transfer = mean_rate("bare"), mean_rate("pair"), mean_rate("transfer")
    errors = sum(p.errors for p in phases.values())
    print(
        f"   baseline POST /bench/bare (one INSERT): {bare:,.0f} req/s (mean), "
        f"p99 {p99_ms(phases['bare'].latencies):.1f} ms"
    )
    print(
        f"   create-transfer POST /api/v1/transfers: {transfer:,.0f} req/s, "
        f"p99 {p99_ms(phases['transfer'].latencies):.1f} ms"
    )
    print(
        f"   (information) pair POST /api/v1/quotes + POST /api/v1/transfers: {pair:,.0f} "
        f"pairs/s = {2 * pair:,.0f} API req/s, p99 {p99_ms(phases['pair'].latencies):.1f} ms "
        f"per pair; ratio per pair {pair / bare:.2f}, per request {2 * pair / bare:.2f}"
    )
    created = phases["pair"].ops + phases["transfer"].ops
    first_error = next((p.first_error for p in phases.values() if p.first_error), "")
    print(
        f"   errors {errors} {first_error[:300]}; transfers in the database {transfers:,} "
        f"({created:,} measured + warm-up)"
    )
    sent = sum(p.api_requests for p in phases.values())
    print(
        f"   request log: {logged:,} rows drained from Redis after the run, "
        f"for {sent:,} API requests"
    )
    ratio = transfer / bare
    verdict = "OK" if ratio >= TARGET and errors == 0 else "MISSED"
    print(f"   ratio create-transfer / bare {ratio:.2f} (target >= {TARGET:.2f}): {verdict}")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
