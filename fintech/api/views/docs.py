"""Public pages of API v1: the OpenAPI document, its interactive docs (Swagger UI and Redoc from
drf-spectacular-sidecar, served by the project itself: no CDN), the problem types, and
problem+json 404s for every other path under /api/ (e.g. an unknown version prefix)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from fintech.api.exceptions import DRF_CODES
from fintech.api.problems import problem_http_response
from fintech.core.errors import DomainError
from ledger.errors import LedgerError


class SchemaApi(SpectacularAPIView):
    """GET /api/v1/schema/ (YAML; `?format=json` for JSON)."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []


class DocsApi(SpectacularSwaggerSplitView):
    """GET /api/v1/docs/: Swagger UI (try it out with a bearer token, each operation's
    scopes). Split: its start-up script is a same-origin file (`?script`), not inline."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []
    url_name = "api:schema"


class RedocApi(SpectacularRedocView):
    """GET /api/v1/redoc/: the same document as one reference page (our template only drops
    the stock page's Google Fonts links)."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []
    url_name = "api:schema"
    template_name = "api/redoc.html"


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def problem_types() -> dict[str, dict[str, Any]]:
    """Every problem `code` the API can answer with, its title and HTTP status."""
    types: dict[str, dict[str, Any]] = {
        "internal_error": {"title": "Internal server error", "status": 500},
        "payload_too_large": {"title": "The request body is too large", "status": 413},
    }
    errors: list[Any] = [DomainError, *_subclasses(DomainError), *_subclasses(LedgerError)]
    for cls in errors:
        types.setdefault(cls.code, {"title": cls.title, "status": cls.status})
    for drf_cls, (code, title) in DRF_CODES.items():
        types.setdefault(code, {"title": title, "status": drf_cls.status_code})
    return dict(sorted(types.items()))


@require_GET
def problem_type(request: HttpRequest, code: str) -> HttpResponse:
    """GET /api/v1/problems/<code>: what a problem `type` URI means."""
    known = problem_types()
    if code not in known:
        return not_found(request)
    return JsonResponse({"code": code, **known[code]})


@require_GET
def problem_type_index(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"problems": problem_types()})


# CSRF-exempt: a POST to an unknown /api/ path must get its 404 problem, not the CSRF page.
@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return problem_http_response(
        request,
        status=404,
        code="not_found",
        title="Not found",
        detail=f"There is no {request.path} in this API; see /api/v1/docs/.",
    )
