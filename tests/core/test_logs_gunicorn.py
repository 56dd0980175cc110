"""gunicorn's own lines go through the app's formatter: under `LOG_FORMAT=json` its access line
is a JSON object carrying the request id of the request it records, with credentials in the
query string redacted. The web process is started as the Procfile starts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from fintech.core.management.commands.platform_run import platform_processes
from tests.core.test_platform_run import ROOT, free_port, get

REQUEST_ID = "req-gunicorn-1"
SECRET = "sekrit-token-123"


@pytest.mark.slow
def test_the_access_line_is_json_with_the_request_id(tmp_path) -> None:
    port = free_port()
    log = tmp_path / "web.log"
    env = dict(os.environ, PORT=str(port), WEB_CONCURRENCY="1", LOG_FORMAT="json")
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", "exec " + platform_processes(devserver=False)["web"]],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while get(f"{base}/health/") != 200:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not answer in 30 s"
            time.sleep(0.2)
        request = urllib.request.Request(  # noqa: S310 (our own server)
            f"{base}/health/live?access_token={SECRET}", headers={"X-Request-Id": REQUEST_ID}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            assert response.headers["X-Request-Id"] == REQUEST_ID

        def access_lines() -> list[dict]:
            found = []
            for raw in log.read_text(errors="replace").splitlines():
                if raw.startswith("{"):
                    line = json.loads(raw)
                    if line.get("logger") == "gunicorn.access":
                        found.append(line)
            return found

        deadline = time.monotonic() + 30
        while not any(line.get("request_id") == REQUEST_ID for line in access_lines()):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    ours = next(line for line in access_lines() if line.get("request_id") == REQUEST_ID)
    assert "/health/live?access_token=[REDACTED]" in ours["event"]
    assert SECRET not in log.read_text()
    # gunicorn's error logger (its start-up lines) is JSON too.
    assert any(
        json.loads(raw).get("logger") == "gunicorn.error"
        for raw in log.read_text().splitlines()
        if raw.startswith("{")
    )
