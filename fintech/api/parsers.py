"""The API's one body parser: JSON, with the limits of fintech.core.safe_input.

DRF's own JSONParser recurses without a limit (RecursionError: a 500) and hands NUL
characters on to PostgreSQL (another 500). This one refuses both as 400 problems naming the
field, and reads at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes (DRF reads the stream itself, so
Django's own limit does not apply; ApiRequestMiddleware already refuses a declared
Content-Length above it).
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

from fintech.api.exceptions import PayloadTooLarge
from fintech.core.safe_input import json_loads_checked

XML_MEDIA_TYPES = ("application/xml", "text/xml")


def body_limit(content_type: str) -> int | None:
    """The most bytes a body of this type may have: XML is only taken as a payment file
    (RawXmlParser, on that endpoint alone), with its own larger bound."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in XML_MEDIA_TYPES:
        return settings.PAYMENT_FILE_MAX_BYTES
    limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit


@dataclass(frozen=True)
class RawUpload:
    """A file sent as the body itself. It stands for itself by its digest where a request is
    compared by value (the idempotency fingerprint), not by megabytes of text."""

    content: bytes
    sha256: str

    def __str__(self) -> str:
        return f"sha256:{self.sha256}"


class RawXmlParser(BaseParser):
    """An XML body, unparsed (the view validates it against its schema), read up to
    PAYMENT_FILE_MAX_BYTES."""

    media_type = "application/xml"

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:  # a RawUpload (DRF's stubs expect a mapping)
        limit = settings.PAYMENT_FILE_MAX_BYTES
        raw: bytes = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge()
        return RawUpload(content=raw, sha256=hashlib.sha256(raw).hexdigest())


class TextXmlParser(RawXmlParser):
    media_type = "text/xml"


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
