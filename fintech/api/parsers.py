"""The API's one body parser: JSON, with the limits of fintech.core.safe_input.

DRF's own JSONParser recurses without a limit (RecursionError: a 500) and hands NUL
characters on to PostgreSQL (another 500). This one refuses both as 400 problems naming the
field, and reads at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes (DRF reads the stream itself, so
Django's own limit does not apply; ApiRequestMiddleware already refuses a declared
Content-Length above it).
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from fintech.api.exceptions import PayloadTooLarge
from fintech.core.safe_input import json_loads_checked


class CheckedJSONParser(JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw: bytes = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge()
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"The body is not valid {encoding} text.") from exc
        try:
            return json_loads_checked(text, max_depth=settings.API_MAX_JSON_DEPTH)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
