"""A profile's Customer in QuickBooks: found by our reference, created once, kept current.

- Found by the " [PRF-<id>]" suffix of its DisplayName (mapping.customer_query), even renamed.
- Created with the job's requestid when there is none. QuickBooks never deletes a Customer, it
  makes it inactive, and its query leaves inactive ones out: a create refused as a duplicate
  name (Fault 6240) means ours is inactive there, which is said to the operator as such.
- Found but with another name or email than the profile now has: a sparse update under the
  SyncToken just read. A stale SyncToken (Fault 5010: someone edited it meanwhile) is a
  conflict: we read it again and, unless it already says what we meant to, raise a
  SyncMismatch and fail the job with both versions; never a blind overwrite.
"""

from __future__ import annotations

from typing import Any

from integrations.connectors.accounting.facts import ContactFacts
from integrations.connectors.accounting.quickbooks import client as qbo
from integrations.connectors.accounting.quickbooks import mapping
from integrations.errors import PermanentError
from integrations.sync.models import SyncJob, SyncMismatch

# The fields of ours we keep current on an existing Customer (DisplayName keeps a rename
# made in QuickBooks: our reference is its suffix either way).
KEPT = ("CompanyName", "PrimaryEmailAddr")


def changes_wanted(current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in KEPT if k in body and current.get(k) != body[k]}


def customer_sync(client: qbo.QuickBooksClient, job: SyncJob, c: ContactFacts) -> dict[str, Any]:
    body = mapping.customer(c)
    found = client.find(mapping.customer_query(c), "Customer")
    if found is None:
        try:
            return client.create(
                "Customer", body, requestid=qbo.requestid(job.connection_id, job.pk)
            )
        except qbo.QuickBooksFault as exc:
            if qbo.DUPLICATE_NAME not in exc.codes:
                raise
            inactive = client.find(f"{mapping.customer_query(c)} and Active = false", "Customer")
            if inactive is None:
                raise
            raise PermanentError(
                f"the QuickBooks Customer {inactive.get('Id')} "
                f"({inactive.get('DisplayName')!r}) of {c.reference} is deleted (inactive) "
                "there: make it active again in QuickBooks, then retry"
            ) from exc
    if found.get("Active") is False:
        raise PermanentError(
            f"the QuickBooks Customer {found.get('Id')} of {c.reference} is deleted (inactive) "
            "there: make it active again in QuickBooks, then retry"
        )
    changes = changes_wanted(found, body)
    if not changes:
        return found
    return _update(client, job, found, changes)


def _update(
    client: qbo.QuickBooksClient, job: SyncJob, found: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    entity_id, token = str(found["Id"]), str(found.get("SyncToken", ""))
    try:
        return client.update(
            "Customer",
            entity_id=entity_id,
            sync_token=token,
            changes=changes,
            # Per SyncToken: a retry after a conflict is a new write, not a replay of it.
            requestid=qbo.requestid(job.connection_id, job.pk, f"update-{token}"),
        )
    except qbo.StaleObject as exc:
        current = client.read("Customer", entity_id) or {}
        if current and not changes_wanted(current, changes):
            return current  # someone made the same change meanwhile: nothing to resolve
        theirs = {k: str(current.get(k, "")) for k in KEPT}
        theirs["SyncToken"] = str(current.get("SyncToken", ""))
        SyncMismatch.objects.get_or_create(
            connection_id=job.connection_id,
            kind=SyncMismatch.Kind.EXTERNAL_CHANGED,
            object_type=job.object_type,
            object_id=job.object_id,
            external_id=entity_id,
            status=SyncMismatch.Status.OPEN,
            defaults={
                "job": job,
                "detail": f"the QuickBooks Customer {entity_id} changed while we updated it "
                f"(SyncToken {token} -> {theirs['SyncToken']}); not overwritten",
                "ours": {k: str(v) for k, v in changes.items()},
                "theirs": theirs,
            },
        )
        raise PermanentError(
            f"quickbooks: Customer {entity_id} was changed in QuickBooks while we updated it "
            f"(stale SyncToken {token}, now {theirs['SyncToken']}): not overwritten; compare "
            "the two in the sync mismatch, fix the side that is wrong, then retry"
        ) from exc
