"""The base of every API v1 view: OAuth bearer tokens, declared scopes, per-application rate
limit, JSON only, problem+json errors, cursor pagination."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django.db.models import QuerySet
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fintech.api.authentication import ApiCaller, ApiTokenAuthentication
from fintech.api.pagination import ApiCursorPagination
from fintech.api.parsers import CheckedJSONParser
from fintech.api.permissions import HasRequiredScopes
from fintech.api.serializers import ResponseSerializer
from fintech.api.throttling import ApplicationRateThrottle
from fintech.customers.models import Profile


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """The API speaks JSON only: answer JSON whatever `Accept` says (no 406 dead ends); bodies
    are still checked (415 for anything but application/json)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class ApiView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HasRequiredScopes]
    throttle_classes = [ApplicationRateThrottle]
    # JSON with a depth limit, refusing NUL characters (fintech/core/safe_input.py).
    parser_classes = [CheckedJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnlyNegotiation
    # No OPTIONS (no metadata, no CORS preflight): it is a 405 and not advertised in Allow.
    http_method_names = ["get", "post", "head"]
    # {"GET": (scope, ...), "POST": (...)}; see fintech.api.permissions.
    required_scopes: ClassVar[dict[str, tuple[str, ...]]] = {}

    @property
    def caller(self) -> ApiCaller:
        caller: ApiCaller = self.request.api_caller  # type: ignore[attr-defined]
        return caller

    @property
    def profile(self) -> Profile:
        return self.caller.profile

    def paginated(
        self, queryset: QuerySet[Any], serializer_class: type[ResponseSerializer]
    ) -> Response:
        # Declared by list views as `pagination_class` (drf-spectacular documents it from there).
        paginator = ApiCursorPagination()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        data = serializer_class.represent_many(page or [])
        return paginator.get_paginated_response(data)
