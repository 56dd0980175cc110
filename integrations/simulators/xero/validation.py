"""Request bodies checked against Xero's own models, those of the `xero-python` SDK.

`validate_request("Invoices", body)` walks the body with the SDK's model types so that each
problem is reported with its path (`Invoices[0].LineItems[0].Quantity: ...`): wrong types,
bad enum values, too-long strings and the fields the SDK's models require. Then, as the SDK
silently drops keys it does not know, the body is deserialized and serialized again
(`serialize(deserialize(...))`) and every key missing from the round trip is reported as an
unknown field (a misspelt `AcountCode`). A few fields Xero requires but the SDK leaves optional
are checked on the top-level elements (REQUIRED).

Dates: the SDK's `date[ms-format]` fields expect the response form `/Date(ms+0000)/`; requests
send `2026-12-01` (as real Xero accepts), converted here for the check. Amounts arrive as JSON
numbers parsed to Decimal (`json.loads(..., parse_float=Decimal)`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from xero_python.accounting import models as xero_models
from xero_python.api_client import ModelFinder
from xero_python.api_client.deserializer import deserialize
from xero_python.api_client.serializer import serialize

FINDER = ModelFinder(xero_models)
_LIST = re.compile(r"list\[(.*)\]$")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_ATTRIBUTE = re.compile(r"`(\w+)`")
_MS_TYPES = ("date[ms-format]", "datetime[ms-format]")
# The SDK's deserializers raise these for a bad value (Decimal raises InvalidOperation, an
# ArithmeticError).
_BAD_VALUE = (ValueError, TypeError, ArithmeticError)

# Required by Xero (its API documentation) but optional in the SDK's models: checked on the
# top-level elements only (an invoice's Contact may be just {"ContactID": ...}).
REQUIRED: dict[str, tuple[str, ...]] = {
    "Contact": ("Name",),
    "Invoice": ("Type", "Contact"),
    "CreditNote": ("Type", "Contact"),
    "BankTransaction": ("Contact",),
    "Payment": ("Account", "Amount"),
    "ManualJournal": ("JournalLines",),
    "ManualJournalLine": ("LineAmount", "AccountCode"),
    "Allocation": ("Amount",),
}


def validate_request(model_name: str, body: dict[str, Any], *, updating: bool = False) -> list[str]:
    """Problems with `body` as a `model_name` (an SDK model name: "Invoices", "Contact"), each
    with its path; [] when the SDK's models accept it whole. Xero's required fields are
    checked on new elements only: not with `updating`, nor on an element naming its own id
    (`InvoiceID`), which is an update."""
    if not isinstance(body, dict):
        return [f"{model_name}: a JSON object is expected"]
    errors: list[str] = []
    converted = _walk(model_name, body, model_name if _is_element(model_name) else "", errors)
    if updating:  # an update sends only what changes: the SDK's required fields may be absent
        errors = [e for e in errors if "must not be `None`" not in e]
    if errors:
        return errors
    if not updating:
        errors.extend(_required(model_name, converted))
    try:
        round_trip = serialize(deserialize(model_name, converted, FINDER))
    except _BAD_VALUE as exc:
        if updating and "must not be `None`" in str(exc):
            # The SDK cannot build a partial object: name unknown keys from its models.
            _unknown(
                model_name, converted, "" if not _is_element(model_name) else model_name, errors
            )
            return errors
        return [f"{model_name}: {exc}"]
    _dropped(converted, round_trip, model_name if _is_element(model_name) else "", errors)
    return errors


def ms_date(value: str) -> str:
    """`2026-12-01` or an ISO datetime in the SDK's `/Date(ms+0000)/` form (others as given)."""
    if _DATE.match(value):
        moment = datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
    elif _DATETIME.match(value):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    else:
        return value
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def _is_element(model_name: str) -> bool:
    """An element (Invoice) is named in paths; an envelope (Invoices) is not: its key is."""
    model = getattr(xero_models, model_name, None)
    return not (model is not None and _envelope_key(model) is not None)


def _envelope_key(model: Any) -> str | None:
    types = getattr(model, "openapi_types", {})
    for attr, attr_type in types.items():
        if _LIST.match(attr_type) and model.attribute_map[attr].lower() == model.__name__.lower():
            return str(model.attribute_map[attr])
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _walk(type_name: str, value: Any, path: str, errors: list[str]) -> Any:
    """A copy of `value` with request dates in the SDK's form; problems appended to errors."""
    if value is None:
        return None
    listed = _LIST.match(type_name)
    if listed:
        if not isinstance(value, list):
            errors.append(f"{path}: a list is expected")
            return value
        return [_walk(listed.group(1), v, f"{path}[{i}]", errors) for i, v in enumerate(value)]
    model = getattr(xero_models, type_name, None)
    if model is None:
        return _primitive(type_name, value, path, errors)
    if isinstance(model, type) and issubclass(model, Enum):
        try:
            model(value)
        except ValueError:
            errors.append(f"{path}: {value!r} is not a valid {type_name}")
        return value
    if not isinstance(value, dict):
        errors.append(f"{path}: an object is expected")
        return value
    by_key = {key: attr for attr, key in model.attribute_map.items()}
    before = len(errors)
    converted: dict[str, Any] = {}
    for key, item in value.items():
        attr = by_key.get(key)
        # Unknown keys are kept as given: the round trip reports them (the SDK drops them).
        converted[key] = (
            item
            if attr is None
            else _walk(model.openapi_types[attr], item, _join(path, key), errors)
        )
    if len(errors) == before:
        # The model's own checks (enums held as strings, lengths, required fields).
        try:
            deserialize(type_name, converted, FINDER)
        except _BAD_VALUE as exc:
            message = str(exc)
            named = _ATTRIBUTE.search(message)
            where = path
            if named and named.group(1) in model.attribute_map:
                where = _join(path, model.attribute_map[named.group(1)])
            errors.append(f"{where}: {message}")
    return converted


def _primitive(type_name: str, value: Any, path: str, errors: list[str]) -> Any:
    if type_name in _MS_TYPES:
        if not isinstance(value, str):
            errors.append(f"{path}: a date is expected")
            return value
        value = ms_date(value)
    elif type_name == "str" and not isinstance(value, str):
        errors.append(f"{path}: a string is expected")
        return value
    elif type_name == "float" and (
        isinstance(value, bool) or not isinstance(value, int | float | Decimal | str)
    ):
        errors.append(f"{path}: a number is expected")
        return value
    try:
        deserialize(type_name, value, FINDER)
    except ArithmeticError:
        errors.append(f"{path}: a number is expected")
    except _BAD_VALUE as exc:
        errors.append(f"{path}: {exc}")
    return value


def _required(model_name: str, body: dict[str, Any]) -> list[str]:
    model = getattr(xero_models, model_name, None)
    key = _envelope_key(model) if model is not None else None
    if key is None:
        elements, element_type, prefix = [body], model_name, [model_name]
    else:
        attr = next(a for a, k in model.attribute_map.items() if k == key)  # type: ignore[union-attr]
        listed = _LIST.match(model.openapi_types[attr])  # type: ignore[union-attr]
        element_type = listed.group(1) if listed else model_name
        elements = body.get(key) or []
        prefix = [f"{key}[{i}]" for i in range(len(elements))]
    problems = []
    for where, element in zip(prefix, elements, strict=False):
        if not isinstance(element, dict) or element.get(f"{element_type}ID"):
            continue
        for field in REQUIRED.get(element_type, ()):
            if element.get(field) in (None, "", []):
                problems.append(f"{where}.{field}: required field is missing")
        if element_type == "ManualJournal":
            for i, line in enumerate(element.get("JournalLines") or []):
                for field in REQUIRED["ManualJournalLine"]:
                    if isinstance(line, dict) and line.get(field) in (None, ""):
                        problems.append(
                            f"{where}.JournalLines[{i}].{field}: required field is missing"
                        )
    return problems


def _dropped(given: Any, kept: Any, path: str, errors: list[str]) -> None:
    """Keys of `given` that the SDK's round trip (`kept`) lost: fields it does not know."""
    if isinstance(given, dict) and isinstance(kept, dict):
        for key, value in given.items():
            if value is None:
                continue
            if key not in kept:
                errors.append(f"{_join(path, key)}: unknown field")
            else:
                _dropped(value, kept[key], _join(path, key), errors)
    elif isinstance(given, list) and isinstance(kept, list | tuple):
        for i, (a, b) in enumerate(zip(given, kept, strict=False)):
            _dropped(a, b, f"{path}[{i}]", errors)


def _unknown(type_name: str, value: Any, path: str, errors: list[str]) -> None:
    """Keys no SDK model of this type has (for partial bodies the round trip cannot take)."""
    listed = _LIST.match(type_name)
    if listed and isinstance(value, list):
        for i, item in enumerate(value):
            _unknown(listed.group(1), item, f"{path}[{i}]", errors)
        return
    model = getattr(xero_models, type_name, None)
    if model is None or not isinstance(value, dict) or not hasattr(model, "attribute_map"):
        return
    by_key = {key: attr for attr, key in model.attribute_map.items()}
    for key, item in value.items():
        if key not in by_key:
            errors.append(f"{_join(path, key)}: unknown field")
        else:
            _unknown(model.openapi_types[by_key[key]], item, _join(path, key), errors)
