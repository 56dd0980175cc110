"""API errors and the one DRF exception handler that turns every error into problem+json.

Mapped here: `fintech.core.errors.DomainError` (and the ledger's errors, which mirror it by
duck type: `code`, `status`, `title`, `message`), DRF's ValidationError (each field named,
nested fields dotted), ParseError (malformed JSON), authentication (401 with
`WWW-Authenticate: Bearer ...`), missing scopes (403 naming them), 404, 405, 406, 413, 415
and 429 (with `Retry-After`). A transient database error (the server restarting or
refusing connections, a serialization failure, a deadlock: see
`fintech.core.errors.is_transient_db_error`) is a 503 `service_unavailable` with
`Retry-After`. Anything else is a bug: it is not handled here, so Django's
exception path (see `middleware.ApiRequestMiddleware.process_exception`) answers a 500 problem.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from fintech.api.problems import PROBLEM_CONTENT_TYPE, problem_body
from fintech.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    ServiceUnavailable,
    ValidationFailed,
    is_transient_db_error,
)
from ledger.errors import LedgerError

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- API errors


class IdempotencyKeyMissing(ValidationFailed):
    code = "idempotency_key_missing"
    title = "The Idempotency-Key header is required"

    def __init__(self) -> None:
        super().__init__(
            [
                FieldError(
                    "Idempotency-Key",
                    "required",
                    "send a unique key (e.g. a UUID) per operation; retries reuse it",
                )
            ]
        )


class IdempotencyKeyInvalid(ValidationFailed):
    code = "idempotency_key_invalid"
    title = "The Idempotency-Key header is invalid"

    def __init__(self, message: str) -> None:
        super().__init__([FieldError("Idempotency-Key", "invalid", message)])


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422
    title = "This Idempotency-Key was used for a different request"


class IdempotencyKeyInProgress(Conflict):
    code = "idempotency_key_in_progress"
    title = "A request with this Idempotency-Key is still being processed"
    # Seconds a client should wait before retrying with the same key.
    retry_after = 1

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class InsufficientScope(drf.PermissionDenied):
    default_code = "insufficient_scope"

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(f"This request needs the scope {' '.join(missing)}")


class PayloadTooLarge(drf.APIException):
    status_code = 413
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


# --------------------------------------------------------------------------- mapping

# Stable codes and titles for DRF's own errors; a subclass comes before its base.
DRF_CODES: dict[type[drf.APIException], tuple[str, str]] = {
    drf.ParseError: ("malformed_body", "The request body is not valid JSON"),
    drf.NotAuthenticated: ("not_authenticated", "A valid bearer token is required"),
    drf.AuthenticationFailed: ("invalid_token", "The bearer token is invalid or expired"),
    InsufficientScope: ("insufficient_scope", "The token lacks a required scope"),
    drf.PermissionDenied: ("permission_denied", "Not allowed"),
    drf.NotFound: ("not_found", "Not found"),
    drf.MethodNotAllowed: ("method_not_allowed", "Method not allowed"),
    drf.NotAcceptable: ("not_acceptable", "The requested media type is not available"),
    drf.UnsupportedMediaType: ("unsupported_media_type", "Send application/json"),
    drf.Throttled: ("rate_limited", "Too many requests"),
    PayloadTooLarge: ("payload_too_large", "The request body is too large"),
}


def _walk(node: Any, path: str) -> Iterator[dict[str, str]]:
    """Flatten DRF's `get_full_details()` into [{field, code, message}], fields dotted."""
    if isinstance(node, Mapping):
        if set(node) == {"message", "code"} and not isinstance(node["message"], (dict, list)):
            yield {"field": path or "body", "code": str(node["code"]), "message": node["message"]}
            return
        for key, value in node.items():
            key = "" if key in ("non_field_errors", "detail") else str(key)
            yield from _walk(value, f"{path}.{key}" if path and key else (key or path))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            is_leaf = isinstance(item, Mapping) and set(item) == {"message", "code"}
            yield from _walk(item, path if is_leaf else f"{path}.{index}" if path else str(index))
    else:  # pragma: no cover - DRF always gives dicts or lists
        yield {"field": path or "body", "code": "invalid", "message": str(node)}


def validation_errors(exc: drf.ValidationError) -> list[dict[str, str]]:
    return list(_walk(exc.get_full_details(), ""))


def _summary(errors: list[dict[str, str]]) -> str:
    return "; ".join(f"{e['field']}: {e['message']}" for e in errors)


def _request_meta(context: Mapping[str, Any]) -> tuple[str, str]:
    request = context.get("request")
    if request is None:
        return "", ""
    return request.path, getattr(request, "request_id", "")


def problem_for_exception(exc: Exception, *, instance: str, request_id: str) -> Response | None:
    """The problem response for `exc`, or None for an unexpected error (a 500)."""
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    errors: list[dict[str, str]] = []

    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif is_transient_db_error(exc):
        # Not a bug: the database is restarting or refused us for a moment. The client
        # retries after Retry-After (an unfinished request committed nothing).
        log.warning("transient database error, answering 503: %r", exc)
        exc = ServiceUnavailable()

    if isinstance(exc, (DomainError, LedgerError)):
        status, code, title, detail = exc.status, exc.code, exc.title, exc.message
        errors = [f.as_dict() for f in getattr(exc, "fields", [])]
        headers.update(getattr(exc, "headers", {}))
    elif isinstance(exc, drf.ValidationError):
        errors = validation_errors(exc)
        status, code, title = 400, ValidationFailed.code, ValidationFailed.title
        detail = _summary(errors)
    elif isinstance(exc, drf.APIException):
        status = exc.status_code
        # First match wins: subclasses (InsufficientScope) are listed before their bases.
        code, title = next(
            (pair for cls, pair in DRF_CODES.items() if isinstance(exc, cls)),
            (str(exc.default_code), str(exc.default_detail)),
        )
        detail = str(exc.detail) if not isinstance(exc.detail, (dict, list)) else title
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        if isinstance(exc, InsufficientScope):
            extra["required_scopes"] = exc.missing
            errors = [
                {"field": "scope", "code": "insufficient_scope", "message": f"needs {scope}"}
                for scope in exc.missing
            ]
            headers["WWW-Authenticate"] = (
                f'Bearer realm="api", error="insufficient_scope", scope="{" ".join(exc.missing)}"'
            )
        if isinstance(exc, drf.Throttled):
            wait = getattr(exc, "wait", None) or 1
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
            detail = f"Rate limit exceeded; retry after {headers['Retry-After']} seconds"
    else:
        return None

    body = problem_body(
        status=status,
        code=code,
        title=title,
        detail=detail,
        instance=instance,
        request_id=request_id,
        errors=errors,
        extra=extra,
    )
    return Response(body, status=status, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]."""
    instance, request_id = _request_meta(context)
    return problem_for_exception(exc, instance=instance, request_id=request_id)
