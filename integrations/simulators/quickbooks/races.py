"""A QuickBooks user editing an object right after the connector read it: the race behind a
stale SyncToken (Fault 5010), made deterministic for tests and demos.

`POST control/<realmId>/objects/<entity>/<id>?after=read` with the fields to change arms a
one-shot edit; the next API read or query that answers that object still answers it as it
was, then makes the edit as a QuickBooks user would (SyncToken + 1, its webhook). A write
under the SyncToken just read is then refused with 5010 Stale Object Error. Armed edits live
in Redis (REDIS_URL: shared by every web worker, taken once with GETDEL) for an hour.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fintech.core.redis_client import redis_client
from integrations.models import QuickBooksSandboxCompany as Company
from integrations.simulators.quickbooks import webhooks
from integrations.simulators.quickbooks.store import object_get, object_save

TTL_SECONDS = 3600
FIXED = ("Id", "SyncToken", "MetaData", "domain", "sparse")


def _key(company: Company, entity: str, object_id: str) -> str:
    return f"qbo-sandbox:after-read:{company.pk}:{entity}:{object_id}"


def race_arm(company: Company, entity: str, object_id: str, patch: dict[str, Any]) -> None:
    fields = {k: v for k, v in patch.items() if k not in FIXED}
    redis_client().set(_key(company, entity, object_id), json.dumps(fields), ex=TTL_SECONDS)


def races_run(company: Company, entity: str, answered: list[dict[str, Any]]) -> list[dict]:
    """`answered` as read (copies), after making the edits armed for any of them."""
    answer = copy.deepcopy(answered)
    for data in answered:
        object_id = str(data.get("Id", ""))
        armed = redis_client().getdel(_key(company, entity, object_id)) if object_id else None
        if not armed:
            continue
        row = object_get(company, entity, object_id, lock=True)
        if row is None:
            continue
        current = {k: v for k, v in row.data.items() if k not in FIXED}
        object_save(row, {**current, **json.loads(armed)})
        webhooks.change_queue(company=company, row=row, operation="Update")
    return answer
