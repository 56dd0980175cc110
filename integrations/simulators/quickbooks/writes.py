"""Create, update (full or sparse), void and delete, as QuickBooks does them.

A body with an `Id` updates: its `SyncToken` must be the object's current one, or the answer
is 5010 Stale Object Error (never an overwrite). `"sparse": true` changes only the fields
sent; otherwise the body replaces the object. `?operation=void` zeroes a voidable
transaction (PrivateNote "Voided"); `?operation=delete` removes a transaction (Change Data
Capture still reports it, `status: "Deleted"`). Every change queues its webhook."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from integrations.models import QuickBooksSandboxCompany as Company
from integrations.models import QuickBooksSandboxObject as Obj
from integrations.simulators.quickbooks import faults, shapes, transactions, webhooks
from integrations.simulators.quickbooks.entities import Entity
from integrations.simulators.quickbooks.store import object_create, object_get, object_save

READ_ONLY = ("Id", "SyncToken", "MetaData", "domain", "sparse")
COMPUTED = ("TotalAmt", "Balance", "HomeTotalAmt", "UnappliedAmt", "RemainingCredit")


def _locked_current(company: Company, entity: Entity, body: dict[str, Any]) -> Obj:
    object_id = str(body.get("Id", "")).strip()
    if "SyncToken" not in body:
        raise faults.required(f"{entity.name}.SyncToken")
    row = object_get(company, entity.name, object_id, lock=True)
    if row is None:
        raise faults.not_found(entity.name, object_id, f"{entity.name}.Id")
    if str(body["SyncToken"]).strip() != str(row.sync_token):
        raise faults.stale(entity.name, object_id)
    return row


def _numbered(data: dict[str, Any]) -> dict[str, Any]:
    """Lines get their Id and LineNum, as QuickBooks gives them (kept when sent back)."""
    lines = data.get("Line")
    if isinstance(lines, list):
        data["Line"] = [
            {"Id": str(n), "LineNum": n, **line} if "DetailType" in line else line
            for n, line in enumerate(lines, start=1)
        ]
    return data


def _writable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in READ_ONLY}


def write(company: Company, entity: Entity, body: dict[str, Any]) -> Obj:
    """Create, or update when the body names an Id."""
    shapes.shape_check(entity.name, body)
    if body.get("Id") in (None, ""):
        data = _numbered(entity.prepare(company, _writable(body), None))
        if entity.name == "BillPayment":
            transactions.bills_apply(company, data, 1)
        row = object_create(company, entity.name, data)
        webhooks.change_queue(company=company, row=row, operation="Create")
        return row
    row = _locked_current(company, entity, body)
    if body.get("sparse") is True:
        merged = {**_writable(row.data), **_writable(body)}
    else:
        merged = _writable(body)
        for keep in COMPUTED:  # computed fields are not the caller's to send
            merged.pop(keep, None)
    before = row.data
    if entity.name == "BillPayment":
        transactions.bills_apply(company, before, -1)
    data = _numbered(entity.prepare(company, merged, before))
    if entity.name == "BillPayment":
        transactions.bills_apply(company, data, 1)
    object_save(row, data)
    webhooks.change_queue(company=company, row=row, operation="Update")
    return row


def void(company: Company, entity: Entity, body: dict[str, Any]) -> Obj:
    if not entity.voidable:
        raise faults.business(f"Operation void is not supported for {entity.name}", entity.name)
    row = _locked_current(company, entity, body)
    data = dict(row.data)
    if entity.name == "BillPayment":
        transactions.bills_apply(company, data, -1)
    zero = {k: 0 for k in (*COMPUTED, "TotalAmt") if k in data}
    lines = [{**line, "Amount": 0} for line in data.get("Line", [])]
    note = str(data.get("PrivateNote") or "")
    data.update(zero, Line=lines, PrivateNote=f"Voided{' - ' + note if note else ''}")
    if entity.name == "Payment":
        data["TxnStatus"] = "Voided"
    object_save(row, _writable(data))
    webhooks.change_queue(company=company, row=row, operation="Void")
    return row


def delete(company: Company, entity: Entity, body: dict[str, Any]) -> dict[str, Any]:
    if not entity.deletable:
        raise faults.business(
            f"Operation delete is not supported for {entity.name}: make it inactive (Active false)",
            entity.name,
        )
    row = _locked_current(company, entity, body)
    if entity.name == "Bill" and Decimal(str(row.data.get("Balance", 0))) != Decimal(
        str(row.data.get("TotalAmt", 0))
    ):
        raise faults.business(f"Bill {row.object_id} has payments: delete them first", "Bill")
    if entity.name == "BillPayment":
        transactions.bills_apply(company, row.data, -1)
    object_save(row, _writable(row.data), deleted=True)
    webhooks.change_queue(company=company, row=row, operation="Delete")
    return {"status": "Deleted", "domain": "QBO", "Id": row.object_id}
