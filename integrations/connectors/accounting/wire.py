"""JSON for accounting APIs' wires: Decimal as exact JSON numbers, never through float.

json.JSONEncoder cannot emit a raw number for a custom type (only via float, which would turn
0.10 into 0.1 and 1234567.891 into whatever the nearest double prints as), so this is a small
writer of its own: dicts with str keys, lists and tuples, str, bool, None, int and Decimal.
Anything else (a float above all) is a TypeError.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def dumps(body: Any) -> bytes:
    """`body` as compact UTF-8 JSON; Decimal written exactly (`f"{d:f}"`, no exponent)."""
    return _dump(body).encode()


def _dump(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} has no JSON form")
        return f"{value:f}"
    if value is None or isinstance(value, bool | int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("JSON object keys must be strings")
        items = (f"{json.dumps(k, ensure_ascii=False)}:{_dump(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    raise TypeError(f"{type(value).__name__} is not sent as JSON (floats never are)")
