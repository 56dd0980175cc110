"""Defences in front of every login: the caller's address, the login lockout (django-axes) and
the Content-Security-Policy header (django-csp). Settings: the "security" block of settings.py."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from csp.constants import HEADER
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from fintech.core.services import login_lockout_record


def client_ip(request: HttpRequest) -> str:
    """The address that sent the request. Behind TRUSTED_PROXY_COUNT proxies, each appending
    the address it saw to X-Forwarded-For, the client is that many entries from the right:
    anything further left was written by the client itself and proves nothing."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote  # not through the whole proxy chain: trust only the socket
    return forwarded[-count]


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check ahead of the password check of every login form.

    axes refuses to authenticate without a request (there is no address to count). Logins over
    HTTP always pass one (Django's LoginView, the admin's); only code that checks a password
    outside a request (a shell, the test client's login()) has none, and nothing can reach
    that code from outside, so it is left to the next backend instead of failing."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        super().authenticate(request, username=username, password=password, **kwargs)
        return None


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's policy (settings.CONTENT_SECURITY_POLICY) on every page a browser renders.

    The API's JSON under BROWSERLESS_PATH_PREFIXES gets a fixed, stricter policy instead
    (nothing in a JSON document may load or frame anything), set without building the policy
    per response: the API's latency is measured in microseconds. HTML pages there (the API's
    docs) get the full policy like every other page."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if request.path_info.startswith(settings.BROWSERLESS_PATH_PREFIXES) and not response.get(
            "Content-Type", ""
        ).startswith("text/html"):
            response.headers.setdefault(HEADER, settings.API_CONTENT_SECURITY_POLICY)
            return response
        return super().process_response(request, response)


def lockout_audit(
    sender: Any, *, request: HttpRequest, username: str | None, ip_address: str, **kwargs: Any
) -> None:
    """axes' user_locked_out signal: each lockout goes into the audit trail."""
    login_lockout_record(
        username=username or "",
        ip_address=ip_address or "",
        path=request.path,
        failures=int(getattr(request, "axes_failures_since_start", 0) or 0),
        request_id=str(getattr(request, "request_id", "")),
    )
