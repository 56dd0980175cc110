"""Connection tokens against a real token endpoint on 127.0.0.1 whose refresh tokens are
single-use (as Xero's are): one refresh at a time, the new token stored before use, a refused
refresh pauses the connection without losing its jobs."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.db import connection as db
from django.utils import timezone

from integrations.errors import ReconnectRequired
from integrations.sync import adapters, oauth, services
from integrations.sync.models import Connection, SyncJob
from tests.sync.fake import FakeAdapter, mapped_connection


class TokenServer:
    """Refresh tokens die on first use; a dead one is refused with invalid_grant."""

    def __init__(self) -> None:
        self.live = {"refresh-1"}
        self.refreshes = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                token = form.get("refresh_token", [""])[0]
                time.sleep(0.2)  # long enough for a second refresher to arrive
                with server.lock:
                    if token not in server.live:
                        status, body = 400, {"error": "invalid_grant"}
                    else:
                        server.live.discard(token)
                        server.refreshes += 1
                        n = server.refreshes
                        server.live.add(f"refresh-{n + 1}")
                        status, body = (
                            200,
                            {
                                "access_token": f"access-{n + 1}",
                                "refresh_token": f"refresh-{n + 1}",
                                "expires_in": 1800,
                                "token_type": "Bearer",
                            },
                        )
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def token_server():
    server = TokenServer()
    yield server
    server.stop()


@pytest.fixture
def fake(token_server):
    adapter = FakeAdapter(token_url=token_server.url)
    adapters.register_adapter(adapter)
    yield adapter
    adapters._adapters.pop(adapter.provider, None)


def _expire(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        token_expires_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.django_db(transaction=True)
def test_two_workers_refreshing_at_once_spend_the_refresh_token_once(fake, token_server) -> None:
    connection = mapped_connection(fake)
    _expire(connection)
    gate = threading.Barrier(6)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        gate.wait()
        try:
            tokens.append(oauth.access_token(connection_id=connection.pk))
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert token_server.refreshes == 1
    assert tokens == ["access-2"] * 6
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    assert connection.refresh_token == "refresh-2"  # stored before use (the old one is dead)


@pytest.mark.django_db
def test_tokens_are_encrypted_at_rest(fake) -> None:
    connection = mapped_connection(fake)
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM integrations_connection WHERE id = %s",
            [connection.pk],
        )
        stored = cursor.fetchone()
    assert "access-1" not in stored[0]
    assert "refresh-1" not in stored[1]


@pytest.mark.django_db(transaction=True)
def test_a_refused_refresh_pauses_the_queue_and_loses_nothing(fake, token_server) -> None:
    connection = mapped_connection(fake)
    token_server.live.clear()  # the refresh token was revoked at the provider
    _expire(connection)

    def needs_token(context):
        oauth.access_token(connection_id=context.connection.pk)
        raise AssertionError("unreachable")

    fake.action = needs_token
    job, _ = services.job_ensure(
        connection=connection, object_type="transfer", object_id="T1", action="fee_invoice"
    )
    assert services.job_run(job_id=job.pk) == "waiting"
    connection.refresh_from_db()
    assert connection.status == Connection.Status.RECONNECT_REQUIRED
    assert "invalid_grant" in connection.status_reason
    job = SyncJob.objects.get(pk=job.pk)
    assert job.state == SyncJob.State.PENDING
    assert job.attempts == 0
    assert job.pk not in services.jobs_due()  # paused
    with pytest.raises(ReconnectRequired):
        oauth.access_token(connection_id=connection.pk)
