"""The request guard: every request's path, query, headers and body strings checked at the
edge, before any view, parser or query (fintech.core.safe_input says what and why).

Called by ApiRequestMiddleware for every path, the admin's and OAuth's too: a NUL in an admin
URL or in a token request's form must be a 400, not PostgreSQL's refusal as a 500. Under
/api/ the answer is a problem+json naming the field; elsewhere a plain 400. JSON bodies under
/api/ are checked by the API's parser (fintech.api.parsers), which parses them once anyway;
elsewhere (inbound webhooks, the OAuth endpoints) here, as are form bodies.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, QueryDict

from fintech.api.problems import edge_error_response
from fintech.core.safe_input import (
    InvalidCharacter,
    TooManyFields,
    UnsafeInput,
    json_loads_checked,
    strings_checked,
    unstorable_character,
)

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _fields(load: Callable[[], QueryDict], *, where: str) -> list[tuple[str, str]]:
    """Every (name, value) of a query string or form as Django parses it; its field count limit
    (DATA_UPLOAD_MAX_NUMBER_FIELDS) is a 400 naming it, not an HTML error page."""
    try:
        form = load()
    except (TooManyFieldsSent, TooManyFilesSent) as exc:
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        raise TooManyFields(where, f"at most {limit} of them per request") from exc
    return [(name, value) for name, values in form.lists() for value in values]


def _check_body(request: HttpRequest) -> None:
    content_type = request.content_type or ""
    if content_type in _FORM_TYPES:
        strings_checked(_fields(lambda: request.POST, where="form field"), where="form field")
    elif content_type == "application/json" or content_type.endswith("+json"):
        # Malformed JSON (ValueError) is the view's to answer, as it would anyway.
        with contextlib.suppress(ValueError):
            json_loads_checked(request.body, max_depth=settings.API_MAX_JSON_DEPTH)


def request_checked(request: HttpRequest, *, is_api: bool) -> None:
    """Raises UnsafeInput (a ValidationFailed naming the field) for input nothing may see."""
    problem = unstorable_character(request.path)
    if problem:
        raise InvalidCharacter("path", f"the URL path {problem}")
    query = _fields(lambda: request.GET, where="query parameter")
    strings_checked(query, where="query parameter")
    strings_checked(request.headers.items(), where="header")
    if not is_api:
        _check_body(request)


def refusal_response(request: HttpRequest, refusal: UnsafeInput, *, is_api: bool) -> HttpResponse:
    return edge_error_response(
        request,
        as_problem=is_api,
        status=refusal.status,
        code=refusal.code,
        title=refusal.title,
        detail=refusal.message,
        errors=[field.as_dict() for field in refusal.fields],
    )
