"""RFC 9457 problem details: the one shape of every 4xx and 5xx under /api/.

```
{"type": "/api/v1/problems/quote_expired", "title": "The quote has expired", "status": 422,
 "detail": "quote ... expired at ...", "instance": "/api/v1/transfers", "code": "quote_expired",
 "request_id": "...", "errors": [{"field": "quote_id", "code": "quote_expired", "message": "..."}]}
```

`code` is stable: clients branch on it, never on `title` or `detail`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "/api/v1/problems/"


def problem_body(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    request_id: str = "",
    errors: list[dict[str, str]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_BASE}{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "request_id": request_id,
        "errors": errors or [],
    }
    if extra:
        body.update(extra)
    return body


def problem_http_response(
    request: HttpRequest,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> HttpResponse:
    """A problem response outside DRF (middleware, URL fallbacks)."""
    body = problem_body(
        status=status,
        code=code,
        title=title,
        detail=detail,
        # The path may be what was refused (a NUL in it): shown escaped, as JSON would.
        instance=request.path,
        request_id=getattr(request, "request_id", ""),
        errors=errors,
    )
    response = HttpResponse(
        json.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE, headers=headers
    )
    return response


def edge_error_response(
    request: HttpRequest,
    *,
    as_problem: bool,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> HttpResponse:
    """An error answered before any view (input guard, database down): problem+json for API
    callers, plain text for everyone else (the admin, partners' webhooks, the OAuth pages)."""
    if as_problem:
        return problem_http_response(
            request,
            status=status,
            code=code,
            title=title,
            detail=detail,
            headers=headers,
            errors=errors,
        )
    return HttpResponse(
        f"{title}: {detail}\n",
        status=status,
        content_type="text/plain; charset=utf-8",
        headers=headers,
    )
