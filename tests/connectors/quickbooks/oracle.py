"""Intuit's own word on a QuickBooks Online request body, used by the mapping tests (never by
the project).

1. Intuit's XSDs (IntuitRestServiceDef.xsd and what it includes, read from
   ../shared/third_party/quickbooks/xsd or $QUICKBOOKS_XSD): the bytes we would send
   (`mapping.dumps`, parsed back with Decimals) are encoded as the entity's XML element in
   the finance/v3 namespace, then the tree is validated again. That checks every element
   name, type, enum and the XSD's element order (our JSON keeps the sequence's order, see
   `mapping.allowlisted`). A ReferenceType ({"value", "name", "type"} in JSON) is its text
   and attributes in XML.
2. What Intuit documents as required but the XSD leaves optional (it is one schema for
   reads and writes, so nearly everything there is minOccurs=0): REQUIRED below, a line's
   DetailType naming its one detail, the lengths QuickBooks keeps, and a JournalEntry's
   debits equal to its credits.
"""

from __future__ import annotations

import functools
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import xmlschema

from integrations.connectors.accounting.quickbooks.mapping import dumps
from tests.third_party import QUICKBOOKS_XSD

XSD = Path(os.environ.get("QUICKBOOKS_XSD", str(QUICKBOOKS_XSD)))
NS = "http://schema.intuit.com/finance/v3"
ENTITIES = (
    "Customer",
    "JournalEntry",
    "Deposit",
    "Purchase",
    "BillPayment",
    "Payment",
    "RefundReceipt",
    "Item",
)

# Entity or nested object -> the fields Intuit's API reference marks required on create.
REQUIRED: dict[str, tuple[str, ...]] = {
    "Customer": ("DisplayName",),
    "JournalEntry": ("Line",),
    "Deposit": ("DepositToAccountRef", "Line"),
    "Purchase": ("AccountRef", "PaymentType", "Line"),
    "BillPayment": ("VendorRef", "PayType", "TotalAmt", "Line"),
    # Intuit's API reference: a Payment needs TotalAmt and CustomerRef; a RefundReceipt its
    # Line and DepositToAccountRef; a Service Item Name, Type and IncomeAccountRef.
    "Payment": ("CustomerRef", "TotalAmt"),
    "RefundReceipt": ("Line", "DepositToAccountRef"),
    "Item": ("Name", "Type", "IncomeAccountRef"),
    "SalesItemLineDetail": ("ItemRef",),
    "JournalEntryLineDetail": ("PostingType", "AccountRef"),
    "DepositLineDetail": ("AccountRef",),
    "AccountBasedExpenseLineDetail": ("AccountRef",),
    "BillPaymentCheck": ("BankAccountRef",),
}
DETAILS = (
    "JournalEntryLineDetail",
    "DepositLineDetail",
    "AccountBasedExpenseLineDetail",
    "SalesItemLineDetail",
)
MAX_LENGTH = {
    "DocNumber": 21,
    "PaymentRefNum": 21,
    "DisplayName": 500,
    "PrivateNote": 4000,
    "Description": 4000,
}


class QuickBooksRefused(AssertionError):
    """What Intuit's schema or documented rules say is wrong with a body."""


@functools.cache
def schema() -> xmlschema.XMLSchema:
    """Built once per test run (it reads seven XSDs, about half a second)."""
    if not XSD.exists():
        raise QuickBooksRefused(f"Intuit's XSDs are not at {XSD} (set QUICKBOOKS_XSD)")
    return xmlschema.XMLSchema(str(XSD))


def enumeration(type_name: str) -> set[str]:
    """The values of one of Intuit's enum types (AccountTypeEnum, say)."""
    xsd_type: Any = schema().types[type_name]
    return set(xsd_type.enumeration)


def sequence(entity_or_type: str) -> list[str]:
    """The element names of an entity's (or a complex type's) sequence, in the XSD's order."""
    if entity_or_type in schema().elements:
        xsd_type: Any = schema().elements[entity_or_type].type
    else:
        xsd_type = schema().types[entity_or_type]
    return [element.local_name for element in xsd_type.content.iter_elements()]


def attributes(type_name: str) -> set[str]:
    xsd_type: Any = schema().types[type_name]
    return set(xsd_type.attributes)


def wire(body: dict[str, Any]) -> dict[str, Any]:
    """The body as QuickBooks would read it: our bytes parsed back, numbers as Decimal."""
    parsed: dict[str, Any] = json.loads(dumps(body), parse_float=Decimal)
    return parsed


def check(entity: str, body: dict[str, Any]) -> None:
    """Raise QuickBooksRefused unless the XSDs and the documented rules accept `body`."""
    if entity not in ENTITIES:
        raise QuickBooksRefused(f"not an entity the connector writes: {entity}")
    sent = wire(body)
    problems = xsd_problems(entity, sent) + rule_problems(entity, sent)
    if problems:
        raise QuickBooksRefused("; ".join(problems))


# --------------------------------------------------------------------------- the XSDs


def _xml_data(value: Any) -> Any:
    """QuickBooks JSON -> xmlschema's dict form: a ReferenceType is text plus attributes."""
    if isinstance(value, dict):
        if "value" in value:
            return {"$": value["value"], **{f"@{k}": v for k, v in value.items() if k != "value"}}
        return {key: _xml_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_xml_data(item) for item in value]
    return value


def _local(path: str | None) -> str:
    return (path or "").replace(f"{{{NS}}}", "")


_UNKNOWN = re.compile(r"^'([^']+)' does not match any declared element")


def _json_paths(value: Any, key: str, path: str) -> list[str]:
    """Where `key` is a field in the body, as the tree's paths say it."""
    found: list[str] = []
    if isinstance(value, dict):
        for field, item in value.items():
            if field == key:
                found.append(f"{path}/{field}")
            if isinstance(item, list):
                for i, element in enumerate(item, start=1):
                    suffix = f"[{i}]" if len(item) > 1 else ""
                    found += _json_paths(element, key, f"{path}/{field}{suffix}")
            else:
                found += _json_paths(item, key, f"{path}/{field}")
    return found


def _paths(tree: Any) -> dict[int, str]:
    """id(element) -> its path in the encoded tree ("/JournalEntry/Line[1]/Amount")."""
    if tree is None:
        return {}
    paths = {id(tree): f"/{_local(tree.tag)}"}
    stack = [tree]
    while stack:
        parent = stack.pop()
        for child in parent:
            same = [c for c in parent if c.tag == child.tag]
            suffix = f"[{same.index(child) + 1}]" if len(same) > 1 else ""
            paths[id(child)] = f"{paths[id(parent)]}/{_local(child.tag)}{suffix}"
            stack.append(child)
    return paths


def xsd_problems(entity: str, body: dict[str, Any]) -> list[str]:
    """Encoding errors (a bad value, an unknown name), then the encoded tree validated again
    (order, what encoding let through); each "XSD <path>: <reason>", a path said once."""
    element: Any = schema().elements[entity]
    tree, errors = element.encode(_xml_data(body), validation="lax", namespaces={"": NS})
    where = _paths(tree)
    found: dict[str, str] = {}
    for error in errors:
        path = where.get(id(error.elem), f"/{entity}") if error.elem is not None else f"/{entity}"
        unknown = _UNKNOWN.match(error.reason or "")
        if unknown:  # xmlschema says it at some other element: where the name is in the body
            path = " or ".join(_json_paths(body, _local(unknown.group(1)), f"/{entity}"))
        found.setdefault(f"{path}: {error.reason}", path)
    if tree is not None:
        seen = set(found.values())
        for error in schema().iter_errors(tree):
            path = _local(error.path)
            if path not in seen:  # a value encoding refused is then empty: said already
                found.setdefault(f"{path}: {error.reason}", path)
    return [f"XSD {problem}" for problem in found]


# --------------------------------------------------------------------------- documented rules


def rule_problems(entity: str, body: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    _rules(entity, body, entity, problems)
    for i, line in enumerate(body.get("Line", [])):
        # A (Bill)Payment's lines only link what they pay; every other line says its kind.
        needs = "LinkedTxn" if entity in ("BillPayment", "Payment") else "DetailType"
        if isinstance(line, dict) and needs not in line:
            problems.append(f"{entity}.Line[{i}]: {needs} is required")
    if entity == "JournalEntry":
        totals = {"Debit": Decimal(0), "Credit": Decimal(0)}
        for line in body.get("Line", []):
            detail = line.get("JournalEntryLineDetail", {})
            if detail.get("PostingType") in totals:
                totals[detail["PostingType"]] += Decimal(line.get("Amount", 0))
        if totals["Debit"] != totals["Credit"]:
            problems.append(f"JournalEntry: debits {totals['Debit']} <> credits {totals['Credit']}")
    return problems


def _rules(kind: str, obj: Any, path: str, problems: list[str]) -> None:
    if not isinstance(obj, dict):
        return
    for field in REQUIRED.get(kind, ()):
        if field not in obj or obj[field] in ("", [], {}):
            problems.append(f"{path}: {field} is required")
    for field, limit in MAX_LENGTH.items():
        if isinstance(obj.get(field), str) and len(obj[field]) > limit:
            problems.append(f"{path}.{field}: longer than {limit} characters")
    if kind == "Customer" and ":" in str(obj.get("DisplayName", "")):
        problems.append(f"{path}.DisplayName: QuickBooks refuses a colon")
    if kind == "Line" and "DetailType" in obj:
        present = [d for d in DETAILS if d in obj]
        if present != [obj["DetailType"]]:
            problems.append(f"{path}: DetailType {obj['DetailType']} but details {present}")
    for field, value in obj.items():
        # A ReferenceType's id is its text: without "value" xmlschema would send it empty.
        if field.endswith("Ref") and not (isinstance(value, dict) and value.get("value")):
            problems.append(f"{path}.{field}: a reference needs its id as value")
        nested_kind = "Line" if field == "Line" else field
        if field == "CheckPayment":
            nested_kind = "BillPaymentCheck"
        if isinstance(value, list):
            for i, item in enumerate(value):
                _rules(nested_kind, item, f"{path}.{field}[{i}]", problems)
        else:
            _rules(nested_kind, value, f"{path}.{field}", problems)
