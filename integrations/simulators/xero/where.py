"""Xero's `where` filter, the part our connector uses: equality clauses joined by AND.

    ContactNumber=="P-42"
    Reference=="TR-1" AND Type=="ACCREC"
    Contact.ContactID==Guid("9b9f...")

Parsed by a tokenizer with a fixed grammar (never evaluated); fields outside the resource's
list are refused, as an unparsable clause is (Xero's QueryParseException).
"""

from __future__ import annotations

import re

_CLAUSE = re.compile(
    r"""\s*(?P<field>[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)?)\s*==\s*
    (?:"(?P<text>(?:[^"\\]|\\.)*)"|Guid\("(?P<guid>[0-9a-fA-F-]{36})"\)
    |(?P<word>true|false)|(?P<number>-?\d+(?:\.\d+)?))\s*""",
    re.VERBOSE,
)
_AND = re.compile(r"\s*(?:AND|&&)\s*", re.IGNORECASE)


class WhereError(ValueError):
    pass


def where_parse(text: str, *, fields: frozenset[str]) -> list[tuple[str, str | bool]]:
    """[(field, value), ...] for `text`; WhereError naming what could not be read."""
    clauses: list[tuple[str, str | bool]] = []
    position = 0
    text = text.strip()
    while True:
        match = _CLAUSE.match(text, position)
        if match is None:
            raise WhereError(f"Unable to parse the where clause near {text[position:][:40]!r}")
        field = match.group("field")
        if field not in fields:
            raise WhereError(f"No property or field '{field}' can be filtered on here")
        if match.group("text") is not None:
            value: str | bool = re.sub(r"\\(.)", r"\1", match.group("text"))
        elif match.group("guid") is not None:
            value = match.group("guid").lower()
        elif match.group("word") is not None:
            value = match.group("word") == "true"
        else:
            value = match.group("number")
        clauses.append((field, value))
        position = match.end()
        if position == len(text):
            return clauses
        joined = _AND.match(text, position)
        if joined is None:
            raise WhereError(f"Unable to parse the where clause near {text[position:][:40]!r}")
        position = joined.end()
