"""Small checks every entity's rules use: references that exist and are active, amounts,
dates, lengths, enums, the currency (enabled in the company, ExchangeRate when foreign).
Each failure is the Fault Intuit answers, naming the element."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from integrations.models import QuickBooksSandboxCompany as Company
from integrations.simulators.quickbooks import faults
from integrations.simulators.quickbooks.companies import currencies_enabled
from integrations.simulators.quickbooks.store import object_get

CENT = Decimal("0.01")
DOC_NUMBER_MAX = 21


def required(body: dict[str, Any], key: str, path: str) -> Any:
    value = body.get(key)
    if value in (None, "", [], {}):
        raise faults.required(f"{path}.{key}")
    return value


def enum(body: dict[str, Any], key: str, allowed: set[str], path: str) -> str:
    value = required(body, key, path)
    if value not in allowed:
        raise faults.invalid_enum(f"{path}.{key}", value, allowed)
    return str(value)


def max_length(body: dict[str, Any], key: str, limit: int, path: str) -> None:
    value = body.get(key)
    if isinstance(value, str) and len(value) > limit:
        raise faults.too_long(f"{path}.{key}", limit)


def ref_id(body: dict[str, Any], key: str, path: str, *, needed: bool = True) -> str | None:
    """A ReferenceType's id (`{"value": "35", "name": ...}`)."""
    ref = body.get(key)
    if ref is None and not needed:
        return None
    if not isinstance(ref, dict) or not str(ref.get("value", "")).strip():
        raise faults.required(f"{path}.{key}.value")
    return str(ref["value"]).strip()


def referenced(
    company: Company, entity: str, object_id: str, element: str, *, active: bool = True
) -> dict[str, Any]:
    """The object a reference names; 610 when it does not exist, is deleted or inactive."""
    row = object_get(company, entity, object_id)
    if row is None or (active and row.data.get("Active") is False):
        raise faults.not_found(entity, object_id, element)
    data: dict[str, Any] = row.data
    return data


def account(
    company: Company, body: dict[str, Any], key: str, path: str, *, types: set[str] | None = None
) -> dict[str, Any] | None:
    """The active account `body[key]` names (of one of `types` when given)."""
    object_id = ref_id(body, key, path, needed=True)
    assert object_id is not None
    found = referenced(company, "Account", object_id, f"{path}.{key}")
    if types and found["AccountType"] not in types:
        raise faults.business(
            f"{path}.{key}: account {object_id} is {found['AccountType']}, "
            f"expected {' or '.join(sorted(types))}",
            f"{path}.{key}",
        )
    return found


def amount(value: Any, element: str, *, negative: bool = False) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise faults.invalid_number(element)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise faults.invalid_number(element) from None
    if not number.is_finite():
        raise faults.invalid_number(element)
    if number != number.quantize(CENT):
        raise faults.business(f"{element}: more than 2 decimal places ({value})", element)
    if number < 0 and not negative:
        raise faults.business(f"{element}: an amount may not be negative ({value})", element)
    return number


def txn_date(body: dict[str, Any], path: str) -> str:
    value = body.get("TxnDate")
    if value is None:
        return timezone.localdate().isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise faults.Fault(
            "Invalid Date", f"{path}.TxnDate: {value} is not yyyy-mm-dd", code="2070"
        ) from None


def doc_number(body: dict[str, Any], path: str) -> None:
    max_length(body, "DocNumber", DOC_NUMBER_MAX, path)


def currency(company: Company, body: dict[str, Any], path: str, *, default: str | None) -> str:
    """The transaction's currency: enabled in the company; a foreign one needs a positive
    ExchangeRate (units of home currency per unit of it)."""
    code = ref_id(body, "CurrencyRef", path, needed=False) or default or company.home_currency
    if code not in currencies_enabled(company):
        reason = (
            "multicurrency is off in this company"
            if not company.multi_currency
            else f"{code} is not among the company's currencies"
        )
        raise faults.business(f"{path}.CurrencyRef: {code}: {reason}", f"{path}.CurrencyRef")
    if code != company.home_currency:
        rate = body.get("ExchangeRate")
        if rate is None:
            raise faults.required(f"{path}.ExchangeRate")
        try:
            if Decimal(str(rate)) <= 0:
                raise InvalidOperation
        except InvalidOperation:
            raise faults.invalid_number(f"{path}.ExchangeRate") from None
    return str(code)


def same_currency(found: dict[str, Any], code: str, element: str, *, home: str = "") -> None:
    """An account (or name) in another currency than the transaction's is refused."""
    theirs = (found.get("CurrencyRef") or {}).get("value")
    if theirs and theirs not in (code, home):
        raise faults.business(f"{element}: in {theirs}, the transaction is in {code}", element)


def money(value: Decimal) -> float:
    return float(value.quantize(CENT))
