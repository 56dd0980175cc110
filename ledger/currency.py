"""ISO 4217 currency checks for the ledger (which imports nothing from `fintech`)."""

from __future__ import annotations

from iso4217 import Currency

from ledger.errors import InvalidCurrency


def currency_exponent(code: str) -> int:
    """The ISO 4217 minor-unit exponent (GBP 2, JPY 0, KWD 3); refuses codes without one."""
    if isinstance(code, str) and code in _KNOWN:
        return _KNOWN[code]
    exponent = _lookup(code)
    if len(_KNOWN) < 512:  # valid codes only; bounded
        _KNOWN[code] = exponent
    return exponent


_KNOWN: dict[str, int] = {}


def _lookup(code: str) -> int:
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha() or not code.isupper():
        raise InvalidCurrency(f"{code!r} is not a 3-letter upper-case ISO 4217 code", currency=code)
    try:
        exponent = Currency(code).exponent
    except ValueError as exc:
        raise InvalidCurrency(f"{code!r} is not an ISO 4217 currency", currency=code) from exc
    if exponent is None:
        raise InvalidCurrency(f"{code!r} has no minor unit; money cannot be booked in it")
    return int(exponent)


def validate_currency(code: str) -> str:
    currency_exponent(code)
    return code
