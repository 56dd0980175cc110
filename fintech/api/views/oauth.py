"""OAuth endpoints we adjust: token introspection limited to the caller's own tokens, and the
login page a business member sees on the way to approving an application (/o/authorize/)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import time
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import View
from oauth2_provider.compat import login_not_required
from oauth2_provider.models import AccessToken
from oauth2_provider.views import IntrospectTokenView, TokenView
from oauthlib.common import Request as OauthlibRequest

from fintech.api.throttling import window_counts, window_incr
from fintech.core.security import client_ip

INACTIVE = {"active": False}


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class OwnTokenIntrospectView(IntrospectTokenView):
    """RFC 7662 introspection where a client learns about its own tokens only.

    DOT's view answers any authenticated client about any token, so one integrator could test
    a token it found against our server and read whose it is. Here the caller must
    authenticate as a client (HTTP Basic, or client_id and client_secret in the body) and a
    token issued to another application is reported as `{"active": false}`, exactly like an
    unknown one (RFC 7662 section 2.2), so its existence is not revealed either.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        oauth_request = OauthlibRequest(uri, http_method, body, headers)
        if not core.server.request_validator.authenticate_client(oauth_request):
            response = JsonResponse(
                {
                    "error": "invalid_client",
                    "error_description": "Authenticate as the client that owns the token.",
                },
                status=401,
            )
            response["WWW-Authenticate"] = 'Basic realm="oauth"'
            return response
        self.client_pk = oauth_request.client.pk
        # Client authentication is done: skip DOT's ClientProtectedResourceMixin.dispatch (it
        # would also accept a bearer token) and go straight to get/post.
        return View.dispatch(self, request, *args, **kwargs)

    def _own_token_response(self, token_value: str | None) -> HttpResponse:
        if token_value is None:
            return self.get_token_response(None)
        checksum = hashlib.sha256(token_value.encode("utf-8")).hexdigest()
        owned = AccessToken.objects.filter(
            token_checksum=checksum, application_id=self.client_pk
        ).exists()
        if not owned:
            return JsonResponse(INACTIVE)
        return self.get_token_response(token_value)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._own_token_response(request.GET.get("token"))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._own_token_response(request.POST.get("token"))


class CustomerLoginView(LoginView):
    """Django's login form for business members (templates/registration/login.html); after it
    they land back on /o/authorize/ (the `next` parameter) to approve the application."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True
    # Without a `next` (someone opened the page directly): the API documentation.
    next_page = "/api/v1/docs/"


def _token_client_id(request: HttpRequest) -> str:
    """The client id a token request claims: HTTP Basic (form-urlencoded, RFC 6749 2.3.1) or
    the body's client_id. Unverified: it only names a counter."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return unquote_plus(decoded.partition(":")[0])
    return str(request.POST.get("client_id", ""))


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class ThrottledTokenView(TokenView):
    """/o/token/ with a limit on failures per client id and per address.

    Client secrets are long and random, so the limit is less about guessing one than about
    answering a flood of wrong ones (or of stolen codes and refresh tokens) as fast as the
    server can: past OAUTH_TOKEN_FAILURES_PER_CLIENT failed requests for one client id, or
    OAUTH_TOKEN_FAILURES_PER_ADDRESS from one address, in a window of
    OAUTH_TOKEN_FAILURE_WINDOW_SECONDS, every request (even a right one) is a 429 with
    Retry-After until the window ends. Only failures count, so a busy, correct client is never
    slowed. If Redis is down the limit is off (logged), not the token endpoint.
    """

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        window_seconds = settings.OAUTH_TOKEN_FAILURE_WINDOW_SECONDS
        now = time.time()
        window = int(now // window_seconds)
        limits = [
            (
                f"oauth:token-fail:addr:{client_ip(request)}:{window}",
                settings.OAUTH_TOKEN_FAILURES_PER_ADDRESS,
            )
        ]
        client_id = _token_client_id(request)
        if client_id:
            # Hashed: the id comes from the caller, of any length.
            digest = hashlib.sha256(client_id.encode("utf-8")).hexdigest()[:32]
            limits.append(
                (
                    f"oauth:token-fail:client:{digest}:{window}",
                    settings.OAUTH_TOKEN_FAILURES_PER_CLIENT,
                )
            )
        keys = [key for key, _limit in limits]
        counts = window_counts(keys)
        if counts is not None and any(
            count >= limit for count, (_key, limit) in zip(counts, limits, strict=True)
        ):
            return _too_many_failures(math.ceil((window + 1) * window_seconds - now))
        response: HttpResponse = super().post(request, *args, **kwargs)
        if response.status_code in (400, 401):
            # Counted after the answer, not reserved before it: requests in flight together
            # can pass the limit by as many as run at once, which is bounded and harmless.
            window_incr(keys, ttl_seconds=window_seconds + 1)
        return response


def _too_many_failures(retry_after: int) -> JsonResponse:
    response = JsonResponse(
        {
            "error": "too_many_requests",
            "error_description": (
                "Too many failed token requests for this client or from this address; "
                f"retry after {retry_after} seconds."
            ),
        },
        status=429,
    )
    response["Retry-After"] = str(max(retry_after, 1))
    response["Cache-Control"] = "no-store"
    return response
