"""What every accounting mapping (Xero, QuickBooks) shares: its errors, the allowlist check
every body passes through, and how ledger amounts and days are written. Pure, no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from integrations.errors import PermanentError
from ledger.currency import currency_exponent

Body = dict[str, Any]
# Object -> its fields we may send -> the nested object's allowlist (None: a scalar;
# "[Kind]": a list of Kind).
Allowlists = Mapping[str, Mapping[str, str | None]]


class MappingError(PermanentError):
    """The facts cannot be said in the accounting system's terms as they are."""


class FieldNotAllowed(MappingError):
    """A builder produced a field that is not on its object's allowlist."""


class NothingToMap(MappingError):
    """The facts hold nothing this document would book (a zero fee or margin, say)."""


def allowlisted(allowlists: Allowlists, kind: str, obj: Mapping[str, Any]) -> Body:
    """`obj` checked against allowlists[kind], nested objects too, its fields in the
    allowlist's order (QuickBooks' XSD sequences need it; JSON does not mind); raises
    FieldNotAllowed on a field not on the list and MappingError on a float or a None (say
    what you mean)."""
    allowed = allowlists[kind]
    extra = sorted(set(obj) - set(allowed))
    if extra:
        raise FieldNotAllowed(f"{kind}: {', '.join(extra)} not on the allowlist")
    checked: Body = {}
    for field, nested in allowed.items():
        if field not in obj:
            continue
        value = obj[field]
        if nested is None:
            if value is None or isinstance(value, float | dict | list):
                raise MappingError(f"{kind}.{field}: {type(value).__name__} is not sent")
            checked[field] = value
        elif nested.startswith("["):
            checked[field] = [allowlisted(allowlists, nested[1:-1], item) for item in value]
        else:
            checked[field] = allowlisted(allowlists, nested, value)
    return checked


def major_units(amount_minor: int, currency: str) -> Decimal:
    """Minor units -> a Decimal in major units quantized to the currency's ISO 4217 exponent."""
    exponent = currency_exponent(currency)
    return Decimal(amount_minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def day(value: dt.date) -> str:
    return value.isoformat()
