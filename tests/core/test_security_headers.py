"""Production headers: a Content-Security-Policy on every page (the admin's included), HSTS and
the HTTPS redirect (behind a proxy header), and `check --deploy` clean in production mode."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.builders import build_user

ROOT = Path(__file__).resolve().parents[2]


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    directives = [part.strip().split(" ", 1) for part in header.split(";") if part.strip()]
    return {name: value for name, value in directives}


@pytest.mark.django_db
def test_the_admin_login_page_and_index_carry_the_policy(client) -> None:
    login = client.get("/admin/login/")
    assert login.status_code == 200
    directives = policy(login)
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no inline script, no other origin
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "blob:" in directives["worker-src"]  # Redoc's worker
    client.force_login(build_user("ops", is_superuser=True))
    index = client.get("/admin/")
    assert index.status_code == 200
    assert policy(index) == directives


@pytest.mark.django_db
def test_the_members_login_page_carries_the_policy(client) -> None:
    assert policy(client.get("/accounts/login/"))["script-src"] == "'self'"


@pytest.mark.django_db
def test_api_json_gets_the_strict_policy(client) -> None:
    response = client.get("/api/v1/problems/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


@pytest.mark.django_db
def test_a_nonce_used_by_a_page_is_in_its_policy(rf, settings) -> None:
    from django.http import HttpResponse

    from fintech.core.security import ContentSecurityPolicyMiddleware

    def view(request):
        return HttpResponse(f'<script nonce="{request.csp_nonce}"></script>')

    request = rf.get("/admin/somewhere/")
    response = ContentSecurityPolicyMiddleware(view)(request)
    nonce = response.content.decode().split('nonce="')[1].split('"')[0]
    assert f"'nonce-{nonce}'" in policy(response)["script-src"]


@pytest.mark.django_db
def test_https_redirect_and_hsts_behind_a_proxy(settings) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    client = Client()  # a fresh one: SecurityMiddleware reads its settings when it loads
    plain = client.get("/admin/login/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/admin/login/"
    assert client.get("/health/").status_code == 200  # load balancers probe over HTTP
    secure = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.django_db
def test_browser_pages_keep_frame_and_csrf_protection() -> None:
    """Why security.W002/W003 are silenced: our subclasses of those middlewares still run."""
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/admin/login/")
    assert page["X-Frame-Options"] == "DENY"
    forged = browser.post("/admin/login/", {"username": "ops", "password": "x"})
    assert forged.status_code == 403
    assert "CSRF" in forged.content.decode()


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_"))}
    env.update(
        FINTECH_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=secrets.token_urlsafe(32),
        DATABASE_URL="postgres://fintech:pw@db.internal:5432/fintech",
        REDIS_URL="redis://redis.internal:6379/0",
        DJANGO_ALLOWED_HOSTS="backoffice.example.com",
        **extra,
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_deploy_is_clean_in_production_mode() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_proxy_header_setting_names_the_header() -> None:
    env = production_env(SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    code = "from django.conf import settings as s; print(s.SECURE_PROXY_SSL_HEADER)"
    result = manage("shell", "--no-imports", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"


@pytest.mark.django_db
def test_the_api_docs_run_under_the_policy(client) -> None:
    """The docs page gets the full policy, and any inline script it has carries the nonce that
    policy names (Swagger UI's split view and Redoc have none: their scripts are files)."""
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    directives = policy(response)
    assert directives["default-src"] == "'self'"
    page = response.content.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    for attributes in inline:
        nonce = re.search(r'nonce="([^"]+)"', attributes)
        assert nonce, f"an inline script without the nonce: <script{attributes}>"
        assert f"'nonce-{nonce.group(1)}'" in directives["script-src"]
    for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', page):
        assert src.startswith("/"), f"a script from another origin: {src}"
