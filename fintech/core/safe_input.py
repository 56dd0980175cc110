"""Untrusted input checked before it reaches a parser's recursion or PostgreSQL.

Two kinds of input crash a request instead of being refused:

- Strings PostgreSQL cannot store: a NUL character (refused in `text`, `varchar` and `jsonb`)
  and, from JSON's `\\ud800` escapes, a lone surrogate (not encodable as UTF-8). Either one
  reaching a query is a 500.
- Nesting: Python's JSON (and XML) parsers recurse per level; a body nested 10,000 levels
  deep raises RecursionError.

Every parser of request data goes through here: `json_loads_checked` for JSON bodies (the API's
DRF parser and the request guard for other paths), `strings_checked` for what Django already
parsed (path, query, headers, form fields). A future XML parser must parse with
`defusedxml`-style limits (no entities, no DTD) and check depth and strings the same way, with
`walk_checked` over the result. Each refusal names where the bad input is, so a client can fix it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from fintech.core.errors import FieldError, ValidationFailed

# A NUL, or a UTF-16 surrogate outside a pair (json.loads turns "\ud800" into one).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnsafeInput(ValidationFailed):
    """Input refused before any parser or query saw it (a 400). The field names where it is:
    a dotted body path ("details.iban", "event_types.0"), a query parameter, a header or
    "path"."""

    code = "unsafe_input"
    title = "The request contains input that cannot be accepted"

    def __init__(self, field: str, message: str) -> None:
        super().__init__([FieldError(field, self.code, message)])


class InvalidCharacter(UnsafeInput):
    code = "invalid_character"
    title = "The request contains a NUL character or invalid text"


class TooManyFields(UnsafeInput):
    code = "too_many_fields"
    title = "The request has too many query parameters or form fields"


class NestingTooDeep(UnsafeInput):
    code = "nesting_too_deep"
    title = "The request body is nested too deeply"


def unstorable_character(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\u0000), which is not accepted"
    return "contains an unpaired UTF-16 surrogate, which is not valid text"


def text_checked(
    value: str | None,
    *,
    field: str,
    max_length: int,
    required: bool = True,
    missing: str = "say why",
) -> str:
    """A free-text field (a note, a reason, a description) stripped, or refused naming `field`:
    missing when required (with the `missing` hint), too long, or not storable."""
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed([FieldError(field, "required", missing)])
    if len(text) > max_length:
        raise ValidationFailed(
            [FieldError(field, "too_long", f"must be at most {max_length} characters")]
        )
    problem = unstorable_character(text)
    if problem is not None:
        raise ValidationFailed([FieldError(field, "invalid_characters", problem)])
    return text


def strings_checked(items: Iterable[tuple[str, str]], *, where: str) -> None:
    """Each (name, value) pair, e.g. query parameters or headers; raises UnsafeInput naming it."""
    for name, value in items:
        problem = unstorable_character(name)
        if problem:
            raise InvalidCharacter(where, f"a {where} name {problem}")
        problem = unstorable_character(value)
        if problem:
            raise InvalidCharacter(name, f"the {where} {name!r} {problem}")


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def walk_checked(document: Any, *, max_depth: int) -> None:
    """Refuse nesting deeper than `max_depth` and unstorable strings (keys too) anywhere in a
    parsed document. Iterative, so the walk itself cannot hit the recursion limit."""
    stack: list[tuple[Any, str, int]] = [(document, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            problem = unstorable_character(node)
            if problem:
                raise InvalidCharacter(path or "body", problem)
            continue
        children: Iterator[tuple[str, Any]]
        if isinstance(node, dict):
            for key in node:
                problem = unstorable_character(key)
                if problem:
                    raise InvalidCharacter(path or "body", f"a key {problem}")
            children = ((_join(path, key), value) for key, value in node.items())
        elif isinstance(node, list):
            children = ((_join(path, index), value) for index, value in enumerate(node))
        else:
            continue
        if depth > max_depth:
            raise NestingTooDeep(path or "body", _too_deep(max_depth))
        stack.extend((child, child_path, depth + 1) for child_path, child in children)


def _too_deep(max_depth: int) -> str:
    return f"arrays and objects may be nested at most {max_depth} levels deep"


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not valid JSON")


def json_loads_checked(raw: bytes | str, *, max_depth: int) -> Any:
    """Parse a JSON document, refusing deep nesting and unstorable strings (UnsafeInput), or
    malformed JSON (ValueError, as json.loads; NaN and Infinity are not JSON)."""
    try:
        document = json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        # Deeper than the interpreter's own limit (about 1000): refused before the walk.
        raise NestingTooDeep("body", _too_deep(max_depth)) from None
    walk_checked(document, max_depth=max_depth)
    return document
