"""OpenAPI 3 (drf-spectacular): problem responses and the Idempotency-Key header, per operation.

The oauth2 security scheme and each operation's scopes come from drf-spectacular's
django-oauth-toolkit extension (our authentication and permission subclass DOT's).

The document promises no more and no less than the server enforces (the fuzzer in
tests/api/test_schemathesis.py checks both ways): request bodies refuse unknown properties
(`additionalProperties: false`, as StrictInputSerializer does), every input string excludes
NUL (refused at the edge, fintech/core/safe_input.py) and, where the field may not be blank,
needs a non-space character (DRF trims), and a serializer's `openapi_extra` adds what one field
cannot say (a quote's amount decimals per currency, its two currencies differing).
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from fintech.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from fintech.api.idempotency import KEY_PATTERN as IDEMPOTENCY_KEY_PATTERN
from fintech.api.problems import PROBLEM_CONTENT_TYPE
from fintech.api.serializers import ProblemSerializer, StrictInputSerializer

# Any text without NUL; and any with at least one non-space character (DRF trims input).
NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


def any_of_values(values: list[str]) -> dict[str, Any]:
    """A string among `values`, for the rules of `openapi_extra`. A pattern, not an `enum`:
    drf-spectacular's enum hook names enums by property and would merge the branches' ones."""
    return {"type": "string", "pattern": "^(?:" + "|".join(re.escape(v) for v in values) + ")$"}


def _constrain_strings(schema: dict[str, Any]) -> None:
    """Add the NUL-free (or not-blank) pattern to a string schema that has no tighter rule,
    and to each string inside an object or array schema."""
    kind = schema.get("type")
    if kind == "string" and not ({"pattern", "enum", "format"} & set(schema)):
        schema["pattern"] = NOT_BLANK if schema.get("minLength", 0) >= 1 else NO_NUL
    for sub in (schema.get("items"), schema.get("additionalProperties")):
        if isinstance(sub, dict):
            _constrain_strings(sub)
    for prop in (schema.get("properties") or {}).values():
        if isinstance(prop, dict):
            _constrain_strings(prop)


_PROBLEM_TITLES = {
    "400": "Invalid request: malformed JSON, unknown or invalid fields (each named in `errors`)",
    "401": "No, invalid or expired bearer token (see WWW-Authenticate)",
    "403": "The token lacks a required scope, or compliance does not allow this",
    "404": "Not found: the resource, or an id the body refers to (another business's id is "
    "not found either)",
    "409": "Not allowed in the current state, or the Idempotency-Key is still in progress",
    "413": "The body is too large",
    "415": "The body must be application/json",
    "422": "The quote expired, or the Idempotency-Key was used for another request",
    "429": "Rate limit exceeded (see Retry-After)",
}


def is_idempotent(view: Any, method: str) -> bool:
    handler = getattr(view, method.lower(), None)
    return bool(getattr(handler, "idempotent", False))


class ApiTokenScheme(DjangoOAuthToolkitScheme):
    """The oauth2 scheme and per-operation scopes for our DOT authentication subclass
    (registered by subclassing; imported in ApiConfig.ready)."""

    target_class = "fintech.api.authentication.ApiTokenAuthentication"


class ApiAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        # Views nest their own InputSerializer/OutputSerializer: name the components after the
        # view ("TransferListCreateInput"), or they would all collide as "Input"/"Output".
        name: str = super().get_serializer_name(serializer, direction)
        outer, _, _ = type(serializer).__qualname__.rpartition(".")
        if outer:
            name = outer.removesuffix("Api") + name.removesuffix("Serializer")
        return name

    def _is_api_operation(self) -> bool:
        return bool(getattr(self.view, "required_scopes", None) is not None) and bool(
            self.get_auth()
        )

    def get_auth(self) -> list[dict[str, Any]]:
        # A token from /o/token/ pasted into the docs' "bearer" box works on every operation
        # (the oauth2 requirement beside it still lists the operation's scopes).
        auth: list[dict[str, Any]] = super().get_auth()
        if self._is_oauth(auth):
            auth.append({"bearer": []})
        return auth

    @staticmethod
    def _is_oauth(auth: list[dict[str, Any]]) -> bool:
        return any("oauth2" in requirement for requirement in auth)

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if is_idempotent(self.view, self.method):
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    type={
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 255,
                        "pattern": IDEMPOTENCY_KEY_PATTERN,
                    },
                    location=OpenApiParameter.HEADER,
                    required=True,
                    description=(
                        "A unique key per operation (e.g. a UUID; 1 to 255 visible ASCII "
                        "characters); a retry with the same key and body replays the first "
                        "response (`Idempotent-Replayed: true`). Kept at least 24 hours."
                    ),
                )
            )
        return parameters

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_parameters()
        for parameter in parameters:
            _constrain_strings(parameter.get("schema", {}))
        return parameters

    def _map_serializer(
        self, serializer: Any, direction: Any, bypass_extensions: bool = False
    ) -> Any:
        schema: dict[str, Any] = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, StrictInputSerializer):
            schema["additionalProperties"] = False
            _constrain_strings(schema)
            schema.update(getattr(serializer, "openapi_extra", None) or {})
        return schema

    def _problem_statuses(self) -> list[str]:
        statuses = ["400", "401", "403", "429"]
        # A path id, or a query naming an object (`looks_up_by_query` on the view), may be
        # another business's or nobody's.
        if "{" in self.path or getattr(self.view, "looks_up_by_query", False):
            statuses.append("404")
        if self.method == "POST":
            # 404 too: a body may name an id that is not there (a quote, a beneficiary).
            statuses += ["404", "409", "413", "415"]
        if is_idempotent(self.view, self.method):
            statuses.append("422")
        return sorted(set(statuses))

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if not self._is_api_operation():
            return responses
        problem = self.resolve_serializer(ProblemSerializer, direction)
        for status in self._problem_statuses():
            responses.setdefault(
                status,
                {
                    "description": _PROBLEM_TITLES[status],
                    "content": {PROBLEM_CONTENT_TYPE: {"schema": problem.ref}},
                },
            )
        return responses
