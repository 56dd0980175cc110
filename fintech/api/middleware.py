"""Request id and the input guard on every request; for /api/: body size limit, 500 as problem,
request log.

First in MIDDLEWARE, so every response (the admin's too) carries `X-Request-Id`, and no later
middleware or view sees a NUL character or a too deeply nested body (see input_guard.py). A sane
incoming id (a proxy's or the client's) is kept so one id follows the request through the
logs; anything else is replaced by a fresh UUID.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus

import structlog
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views import defaults

from fintech.api.input_guard import refusal_response, request_checked
from fintech.api.parsers import body_limit
from fintech.api.problems import PROBLEM_CONTENT_TYPE, edge_error_response, problem_http_response
from fintech.api.request_log import request_log_record
from fintech.core.errors import ServiceUnavailable, is_transient_db_error
from fintech.core.logs import bind_request_id
from fintech.core.metrics import histogram_fields, metric_field, metrics_incr_later
from fintech.core.redis_client import redis_batch, send_after_response
from fintech.core.safe_input import UnsafeInput

log = logging.getLogger(__name__)
access_log = structlog.get_logger("fintech.api.access")

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
API_PREFIX = "/api/"


def request_id_for(request: HttpRequest) -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    return incoming if _SANE_REQUEST_ID.match(incoming) else str(uuid.uuid4())


def _metrics_count(request: HttpRequest, status: int, seconds: float) -> None:
    """Its response time, and its code when it failed, by endpoint: the route it matched
    (bounded: one per view, whatever the ids in the path), with the request log's round trip
    to Redis."""
    match = getattr(request, "resolver_match", None)
    endpoint = f"/{match.route}" if match is not None and match.route else "unmatched"
    labels = {"endpoint": endpoint, "method": request.method or ""}
    fields = histogram_fields("api_request_duration_seconds", seconds, labels)
    if status >= 400:
        fields[metric_field("api_requests_failed", {**labels, "code": str(status)})] = 1
    metrics_incr_later(fields)


def _too_large(request: HttpRequest) -> bool:
    limit = body_limit(request.META.get("CONTENT_TYPE", ""))
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return limit is not None and length > limit


def payload_too_large_response(request: HttpRequest) -> HttpResponse:
    return problem_http_response(
        request,
        status=413,
        code="payload_too_large",
        title="The request body is too large",
        detail=f"The body must be at most {body_limit(request.META.get('CONTENT_TYPE', ''))} "
        "bytes.",
    )


def service_unavailable_response(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A transient database error (restart, failover, serialization failure): 503 with
    Retry-After, so the client (a customer's system, a partner sending us a webhook) tries
    again instead of treating it as a bug. problem+json under /api/, plain text elsewhere."""
    log.warning(
        "transient database error in %s %s, answering 503: %r",
        request.method,
        request.path,
        exception,
    )
    error = ServiceUnavailable()
    return edge_error_response(
        request,
        as_problem=request.path.startswith(API_PREFIX),
        status=error.status,
        code=error.code,
        title=error.title,
        detail=error.message,
        headers=error.headers,
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django calls it for an error raised outside a view (in a middleware, say),
    while the exception is being handled. A transient database error is a 503 there too."""
    exception = sys.exc_info()[1]
    if isinstance(exception, Exception) and is_transient_db_error(exception):
        return service_unavailable_response(request, exception)
    return defaults.server_error(request)


# Headers a client needs to act on an error; kept when an error is rewritten as a problem.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def _is_problem(response: HttpResponse) -> bool:
    return str(response.get("Content-Type", "")).startswith(PROBLEM_CONTENT_TYPE)


def _as_problem(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Safety net: an error made outside our handlers (Django's CSRF page, a bare 405) still
    reaches the client as problem+json."""
    status = response.status_code
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    problem = problem_http_response(
        request,
        status=status,
        code=phrase.lower().replace(" ", "_").replace("-", "_"),
        title=phrase,
        detail=phrase,
    )
    for name in _KEPT_HEADERS:
        if response.has_header(name):
            problem[name] = response[name]
    return problem


class ApiRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_for(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        # Bound for every log line of this request, the tasks it publishes and its outbound
        # calls (fintech/core/logs.py). Not cleared at the end: the work after the response
        # (the relay kick) belongs to this request too; the next request starts afresh.
        bind_request_id(request_id)
        if not request.path.startswith(API_PREFIX):
            response = self._guarded_response(request, is_api=False)
            response[REQUEST_ID_HEADER] = request_id
            return response
        # The request's Redis commands after its work (its log row, a relay kick) go in one
        # round trip, once its response has been sent.
        send_after_response()  # anything a previous request left (if its close never came)
        with redis_batch(after_response=True):
            if _too_large(request):
                # Refused before anything reads the body (DRF's parsers stream it and would not
                # apply DATA_UPLOAD_MAX_MEMORY_SIZE themselves).
                response = payload_too_large_response(request)
            else:
                response = self._guarded_response(request, is_api=True)
            if response.status_code >= 400 and not _is_problem(response):
                response = _as_problem(request, response)
            response[REQUEST_ID_HEADER] = request_id
            self._log(request, response, started)
        return response

    def _guarded_response(self, request: HttpRequest, *, is_api: bool) -> HttpResponse:
        """The view's response, unless the input guard refuses the request first."""
        try:
            request_checked(request, is_api=is_api)
        except UnsafeInput as refusal:
            return refusal_response(request, refusal, is_api=is_api)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_transient_db_error(exception):
            return service_unavailable_response(request, exception)
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, RequestDataTooBig):
            return payload_too_large_response(request)
        log.exception(
            "unhandled error in %s %s (request %s)",
            request.method,
            request.path,
            getattr(request, "request_id", ""),
            exc_info=exception,
        )
        return problem_http_response(
            request,
            status=500,
            code="internal_error",
            title="Internal server error",
            detail="Something went wrong on our side; quote the request_id when you contact us.",
        )

    @staticmethod
    def _log(request: HttpRequest, response: HttpResponse, started: float) -> None:
        caller = getattr(request, "api_caller", None)
        latency_ms = int((time.perf_counter() - started) * 1000)
        request_log_record(
            application_id=caller.application_id if caller else None,
            method=request.method or "",
            # A refused path may hold a NUL: the log escapes it when it stores the row.
            path=request.path,
            status=response.status_code,
            latency_ms=latency_ms,
            request_id=getattr(request, "request_id", ""),
        )
        _metrics_count(request, response.status_code, time.perf_counter() - started)
        # The access line (request_id comes from the context bound in __call__).
        access_log.info(
            "api_request",
            method=request.method or "",
            path=request.path.replace("\x00", "\\x00"),
            status=response.status_code,
            latency_ms=latency_ms,
            application_id=caller.application_id if caller else None,
        )
