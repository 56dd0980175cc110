"""The sandbox's stored QuickBooks objects: numeric Ids per company, SyncToken (a string, +1
on every change), MetaData.CreateTime / LastUpdatedTime, `domain: "QBO"`. Every change is
announced by a webhook row (webhooks.py) when the company sends them."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from integrations.models import QuickBooksSandboxCompany as Company
from integrations.models import QuickBooksSandboxObject as Obj
from integrations.simulators.quickbooks.faults import intuit_time, json_safe


def id_next(company: Company) -> str:
    # Why the conditional increment: concurrent creates in one company each get their own Id.
    Company.objects.filter(pk=company.pk).update(last_id=F("last_id") + 1)
    return str(Company.objects.values_list("last_id", flat=True).get(pk=company.pk))


def object_get(
    company: Company, entity: str, object_id: str, *, lock: bool = False, deleted: bool = False
) -> Obj | None:
    rows = Obj.objects.filter(company=company, entity=entity, object_id=str(object_id))
    if not deleted:
        rows = rows.filter(deleted=False)
    if lock:
        rows = rows.select_for_update()
    return rows.first()


def object_create(
    company: Company, entity: str, data: dict[str, Any], *, object_id: str | None = None
) -> Obj:
    now = intuit_time()
    new_id = object_id or id_next(company)
    body = {
        **json_safe(data),
        "domain": "QBO",
        "sparse": False,
        "Id": new_id,
        "SyncToken": "0",
        "MetaData": {"CreateTime": now, "LastUpdatedTime": now},
    }
    return Obj.objects.create(company=company, entity=entity, object_id=new_id, data=body)


def object_save(row: Obj, data: dict[str, Any], *, deleted: bool = False) -> Obj:
    """The new state of an existing object: SyncToken + 1, LastUpdatedTime now."""
    token = row.sync_token + 1
    meta = dict(row.data.get("MetaData") or {})
    meta["LastUpdatedTime"] = intuit_time()
    row.data = {
        **json_safe(data),
        "domain": "QBO",
        "sparse": False,
        "Id": row.object_id,
        "SyncToken": str(token),
        "MetaData": meta,
    }
    row.sync_token = token
    row.deleted = deleted
    row.updated_at = timezone.now()
    row.save(update_fields=["data", "sync_token", "deleted", "updated_at"])
    return row
