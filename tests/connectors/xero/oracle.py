"""Xero's own word on a request body, used by the mapping tests (never by the project).

Two independent checks of the bytes we would send (`mapping.dumps`, parsed back with
Decimals):

1. The xero-python SDK's models: `deserialize(<envelope>, body, ModelFinder(models))` checks
   enums, types and nesting; it silently drops keys it does not know, so the result is
   serialized again and every key we sent must come back with the same value.
2. The JSON schema of the request body in Xero's OpenAPI spec (xero_accounting.yaml, read
   from ../shared/third_party or $XERO_OPENAPI_SPEC), validated as a request
   (OAS30WriteValidator: no readOnly fields) with every object schema closed
   (additionalProperties: false), so a misspelt key fails here too.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import os
import re
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import xero_python.accounting.models as xero_models
import yaml
from openapi_schema_validator import OAS30WriteValidator
from xero_python.api_client import ModelFinder
from xero_python.api_client.deserializer import deserialize
from xero_python.api_client.serializer import serialize
from xero_python.models import BaseModel

from integrations.connectors.accounting.xero.mapping import dumps
from tests.third_party import XERO_ACCOUNTING_SPEC

SPEC = Path(os.environ.get("XERO_OPENAPI_SPEC", str(XERO_ACCOUNTING_SPEC)))
# Every envelope we send is a schema of the same name and an SDK model of the same name.
ENVELOPES = (
    "Contacts",
    "Invoices",
    "CreditNotes",
    "BankTransactions",
    "Payments",
    "Allocations",
    "ManualJournals",
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MS_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


class XeroRefused(AssertionError):
    """What Xero's model or schema says is wrong with a body."""


def wire(body: dict[str, Any]) -> dict[str, Any]:
    """The body as Xero would read it: our bytes parsed back, numbers as Decimal."""
    parsed: dict[str, Any] = json.loads(dumps(body), parse_float=Decimal)
    return parsed


def check(body: dict[str, Any]) -> None:
    """Raise XeroRefused unless both the SDK and the OpenAPI schema accept `body`."""
    if len(body) != 1 or next(iter(body)) not in ENVELOPES:
        raise XeroRefused(f"not one of Xero's envelopes: {sorted(body)}")
    sent = wire(body)
    problems = sdk_problems(sent) + schema_problems(sent)
    if problems:
        raise XeroRefused("; ".join(problems))


# --------------------------------------------------------------------------- the SDK


def _ms_date(value: str) -> str:
    day = dt.date.fromisoformat(value)
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return f"/Date({int(midnight.timestamp()) * 1000}+0000)/"


def _to_sdk_form(model: type, data: Any) -> Any:
    """Our "YYYY-MM-DD" dates in the SDK's response form, where its model wants that."""
    if not isinstance(data, dict) or not issubclass(model, BaseModel):
        return data
    attr_by_key = {key: attr for attr, key in model.attribute_map.items()}
    out = {}
    for key, value in data.items():
        attr = attr_by_key.get(key)
        if attr is None:
            out[key] = value  # unknown to the model: it will drop it, and compare() says so
            continue
        out[key] = _typed(model.openapi_types[attr], value)
    return out


def _typed(type_name: str, value: Any) -> Any:
    if type_name.startswith("list[") and isinstance(value, list):
        return [_typed(type_name[5:-1], item) for item in value]
    if type_name in ("date[ms-format]", "datetime[ms-format]"):
        return _ms_date(value) if isinstance(value, str) and _ISO_DATE.match(value) else value
    model = getattr(xero_models, type_name, None)
    if isinstance(model, type) and not issubclass(model, Enum):
        return _to_sdk_form(model, value)
    return value


def _same(ours: Any, theirs: Any, path: str, problems: list[str]) -> None:
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            problems.append(f"{path}: became {theirs!r}")
            return
        for key, value in ours.items():
            if key not in theirs:
                problems.append(f"{path}.{key}: dropped by the SDK model (unknown field)")
            else:
                _same(value, theirs[key], f"{path}.{key}", problems)
    elif isinstance(ours, list):
        if not isinstance(theirs, list) or len(theirs) != len(ours):
            problems.append(f"{path}: list became {theirs!r}")
            return
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _same(a, b, f"{path}[{i}]", problems)
    elif isinstance(ours, Decimal | int) and not isinstance(ours, bool):
        # The SDK serializes numbers as float; equal if the float reads back as our Decimal.
        if not isinstance(theirs, float | int) or Decimal(repr(theirs)) != Decimal(ours):
            problems.append(f"{path}: {ours} came back as {theirs!r}")
    elif isinstance(ours, str) and _MS_DATE.match(ours):
        theirs_ms = _MS_DATE.match(str(theirs))
        if not theirs_ms or theirs_ms.group(1) != _MS_DATE.match(ours).group(1):  # type: ignore[union-attr]
            problems.append(f"{path}: date {ours} came back as {theirs!r}")
    elif ours != theirs:
        problems.append(f"{path}: {ours!r} came back as {theirs!r}")


def sdk_problems(body: dict[str, Any]) -> list[str]:
    (name,) = body
    model = getattr(xero_models, name)
    sdk_form = _to_sdk_form(model, body)
    try:
        parsed = deserialize(name, sdk_form, ModelFinder(xero_models))
    except (ValueError, TypeError) as exc:
        return [f"SDK: {exc}"]
    problems: list[str] = []
    _same(sdk_form, serialize(parsed), f"SDK {name}", problems)
    return problems


# --------------------------------------------------------------------------- the spec


@functools.cache
def _spec() -> dict[str, Any]:
    if not SPEC.exists():
        raise XeroRefused(f"Xero's OpenAPI spec is not at {SPEC} (set XERO_OPENAPI_SPEC)")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC.open(encoding="utf-8") as f:
        spec: dict[str, Any] = yaml.load(f, Loader=loader)  # noqa: S506 - a safe loader
    return spec


def _closed(schema: Any) -> Any:
    """Every object schema with properties, closed to other keys (the spec leaves them open,
    and Xero ignores what it does not know: we want to hear of it)."""
    if isinstance(schema, dict):
        out = {key: _closed(value) for key, value in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


@functools.cache
def _validator(name: str) -> OAS30WriteValidator:
    components = _closed(copy.deepcopy(_spec()["components"]))
    request = _spec()["paths"][f"/{name}"]["put"]["requestBody"]["content"]["application/json"]
    root = {"components": components, "allOf": [request["schema"]]}
    return OAS30WriteValidator(root)


def schema_problems(body: dict[str, Any]) -> list[str]:
    (name,) = body
    path = name if name != "Allocations" else "CreditNotes/{CreditNoteID}/Allocations"
    validator = _validator(path)
    return [
        f"schema {'/'.join(map(str, error.absolute_path)) or name}: {error.message}"
        for error in validator.iter_errors(body)
    ]
