"""Django's browser middleware, skipped for the API.

Sessions, the CSRF cookie, the signed-in user, flash messages and frame headers serve the
admin and the OAuth consent pages. The API authenticates every request with a bearer token
(DRF views are CSRF-exempt) and answers JSON, so under /api/ these only cost time on every
call. Everything else (security headers, static files, the pghistory context) still runs.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CsrfViewMiddleware


class _NotForApi:
    """Mixed into a MiddlewareMixin subclass (which provides get_response). Skips the paths in
    settings.BROWSERLESS_PATH_PREFIXES (the API's)."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(settings.BROWSERLESS_PATH_PREFIXES):
            return self.get_response(request)  # type: ignore[attr-defined]
        return super().__call__(request)  # type: ignore[misc]


class BrowserSessionMiddleware(_NotForApi, SessionMiddleware):
    pass


class BrowserCsrfViewMiddleware(_NotForApi, CsrfViewMiddleware):
    pass


class BrowserAuthenticationMiddleware(_NotForApi, AuthenticationMiddleware):
    pass


class BrowserMessageMiddleware(_NotForApi, MessageMiddleware):
    pass


class BrowserXFrameOptionsMiddleware(_NotForApi, XFrameOptionsMiddleware):
    pass
