"""What a case attachment may be, decided before anything is stored.

The type comes from the file name's extension and must agree with the content (a PDF starts
with `%PDF-`, a PNG and a JPEG with their signatures, text and CSV are UTF-8 without NUL
bytes); what the browser claims is ignored. The name is reduced to a safe base name, since
it ends up in a Content-Disposition header and in the SAR."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from fintech.core.errors import FieldError, ValidationFailed

# extension -> (content type, a check of the bytes)
ALLOWED: dict[str, str] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "txt": "text/plain",
    "csv": "text/csv",
}
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class CheckedFile:
    filename: str
    content_type: str
    size: int
    sha256: str


def _refuse(code: str, message: str, field: str = "file") -> ValidationFailed:
    return ValidationFailed([FieldError(field, code, message)])


def filename_sanitise(name: str) -> str:
    """A base name of letters, digits, dot, dash, underscore and space: no path, no control
    characters, no leading dot, at most MAX_NAME characters with the extension kept."""
    name = unicodedata.normalize("NFKC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip(" .")
    name = re.sub(r"_{2,}", "_", name)
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if len(name) > MAX_NAME:
        stem = stem[: MAX_NAME - len(ext) - 1]
        name = f"{stem}.{ext}" if ext else stem
    return name or "attachment"


def attachment_check(*, filename: str, content: bytes, max_bytes: int) -> CheckedFile:
    """Refuse (ValidationFailed naming `file`) an empty or too large file, an extension not
    allowed, or content that is not what the extension says."""
    safe = filename_sanitise(filename)
    ext = safe.rpartition(".")[2].lower() if "." in safe else ""
    if ext not in ALLOWED:
        raise _refuse(
            "type_not_allowed",
            f"{safe}: only {', '.join(sorted(ALLOWED))} files are accepted",
        )
    if not content:
        raise _refuse("empty", f"{safe} is empty")
    if len(content) > max_bytes:
        raise _refuse("too_large", f"{safe} is {len(content)} bytes; at most {max_bytes}")
    content_type = ALLOWED[ext]
    signatures = SIGNATURES.get(content_type)
    if signatures is not None:
        if not content.startswith(signatures):
            raise _refuse("content_mismatch", f"{safe} is not a {ext.upper()} file")
    else:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise _refuse("content_mismatch", f"{safe} is not UTF-8 text") from None
        if b"\x00" in content:
            raise _refuse("content_mismatch", f"{safe} is not text (NUL bytes)")
    return CheckedFile(
        filename=safe,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
