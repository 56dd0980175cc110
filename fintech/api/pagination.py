"""Cursor pagination: `?limit=1..100` (default 20) and an opaque `cursor` from `next`/`previous`.

Stable under inserts (no page drift, unlike offsets) and constant-cost for deep pages. A bad
`limit` or a tampered `cursor` is a 400 naming the parameter, never a silent default.
"""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from fintech.core.errors import FieldError, ValidationFailed

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


class ApiCursorPagination(CursorPagination):
    page_size = DEFAULT_LIMIT
    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT
    ordering = ("-created_at", "-id")
    cursor_query_param = "cursor"

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        # isascii too: isdigit() alone takes "\\u0661" (Arabic-Indic one), which int() reads as 1.
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
            raise ValidationFailed(
                [FieldError("limit", "invalid_limit", f"must be an integer from 1 to {MAX_LIMIT}")]
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(
                    {"minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}
                )
                parameter["description"] = f"page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"
            else:
                parameter["description"] = (
                    "opaque: the `cursor` of a `next` or `previous` link, as given"
                )
        return parameters

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            return super().decode_cursor(request)
        except Exception as exc:  # DRF raises NotFound("Invalid cursor")
            raise ValidationFailed(
                [FieldError("cursor", "invalid_cursor", "use the next or previous link as given")]
            ) from exc
