"""QuickBooks' changes to what we synced, read back and compared (webhooks, reconciliation).

A webhook says only "JournalEntry 77 was updated"; what it is now we read: one GET per
change, or one Change Data Capture call (`cdc?entities=..&changedSince=..`) for a burst of
them. QuickBooks ids are unique per entity, so a job is matched on (entity, id). Deleted or
voided there, inactive (a Customer), or another total: a SyncMismatch (accounting/followup.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from integrations.connectors.accounting import followup
from integrations.connectors.accounting.quickbooks.client import QuickBooksClient
from integrations.sync.models import Connection, SyncJob, SyncMismatch


@dataclass(frozen=True)
class Change:
    """One change a webhook (or CDC) reports."""

    realm_id: str
    entity: str  # "Customer", "JournalEntry", ...
    entity_id: str
    operation: str  # "Create", "Update", "Delete", "Void", "Merge", "Emailed"
    at: datetime | None


# More changes than this in one delivery: one CDC call instead of a read each.
BURST = 5
# CDC looks back 30 days at most.
CDC_WINDOW = timedelta(days=30)
GONE = frozenset({"DELETED", "VOIDED", "INACTIVE"})
GONE_OPERATIONS = frozenset({"delete", "deleted", "void", "voided", "merge", "merged"})
# Which entity each action writes (a job's summary says it too, from `summary`).
ENTITY_OF_ACTION = {
    "contact": ("Customer",),
    "fee_journal": ("JournalEntry",),
    "fx_margin_journal": ("JournalEntry",),
    "fee_payment": ("Payment",),
    "fee_reversal": ("JournalEntry", "RefundReceipt"),
    "fx_margin_reversal": ("JournalEntry",),
    "journal": ("JournalEntry",),
    "funding": ("Deposit",),
    "customer_funding": ("Deposit",),
    "supplier_payout": ("Purchase", "BillPayment"),
}


# CloudEvents name the entity in lower case (qbo.journalentry.updated.v1): ours, spelt as
# Intuit's entities are.
CANONICAL = {e.lower(): e for names in ENTITY_OF_ACTION.values() for e in names}


def canonical(change: Change) -> Change:
    entity = CANONICAL.get(change.entity.lower(), change.entity)
    return Change(change.realm_id, entity, change.entity_id, change.operation, change.at)


def entities_of(job: SyncJob) -> tuple[str, ...]:
    entity = str((job.external_summary or {}).get("entity", ""))
    return (entity,) if entity else ENTITY_OF_ACTION.get(job.action, ())


def theirs_of(item: dict[str, Any]) -> dict[str, str]:
    status = str(item.get("status", "") or "")
    if not status and item.get("Active") is False:
        status = "Inactive"
    if not status and "voided" in str(item.get("PrivateNote", "")).lower():
        status = "Voided"
    return {
        "total": str(item.get("TotalAmt", "")),
        "currency": str((item.get("CurrencyRef") or {}).get("value", "")),
        "status": status,
    }


def _compare(job: SyncJob, item: dict[str, Any] | None) -> str:
    if item is None:
        return followup.compare(job, None, label="QuickBooks", version="", gone=GONE)
    theirs = theirs_of(item)
    if job.action == "contact":
        theirs["total"] = ""  # a Customer's Balance is not ours to compare
    version = str(item.get("SyncToken", ""))
    return followup.compare(job, theirs, label="QuickBooks", version=version, gone=GONE)


def _fetch(
    client: QuickBooksClient, changes: list[Change]
) -> dict[tuple[str, str], dict[str, Any] | None]:
    """(entity, id) -> the object now (None: gone), read one by one or by CDC."""
    if len(changes) <= BURST:
        return {(c.entity, c.entity_id): client.read(c.entity, c.entity_id) for c in changes}
    stamps = [c.at for c in changes if c.at is not None]
    since = max(
        min(stamps) - timedelta(seconds=1) if stamps else timezone.now() - timedelta(hours=1),
        timezone.now() - CDC_WINDOW,
    )
    found: dict[tuple[str, str], dict[str, Any] | None] = {}
    for entity, rows in client.cdc({c.entity for c in changes}, changed_since=since).items():
        for row in rows:
            if isinstance(row, dict) and row.get("Id") is not None:
                found[(entity, str(row["Id"]))] = row
    for c in changes:  # not in the capture (older than it): read it
        if (c.entity, c.entity_id) not in found:
            found[(c.entity, c.entity_id)] = client.read(c.entity, c.entity_id)
    return found


def follow_up(connection: Connection, changes: Iterable[Change]) -> list[str]:
    """Compare each change to an object this connection synced; a note per object."""
    notes: list[str] = []
    wanted: list[tuple[Change, list[SyncJob]]] = []
    for change in map(canonical, changes):
        jobs = [
            job
            for job in SyncJob.objects.filter(
                connection=connection, external_id=change.entity_id, state=SyncJob.State.SYNCED
            )
            if change.entity in entities_of(job)
        ]
        if not jobs:
            notes.append(f"{change.entity} {change.entity_id}: not one we synced")
        elif change.operation.lower() in GONE_OPERATIONS:
            # Nothing to read back: it is gone (or merged away) there.
            for job in jobs:
                followup.mismatch(
                    job,
                    SyncMismatch.Kind.EXTERNAL_DELETED,
                    f"{job} was {change.operation.lower()}d in QuickBooks; the ledger still has it",
                    {"operation": change.operation},
                )
                notes.append(f"{job}: {change.operation.lower()} in QuickBooks")
        else:
            wanted.append((change, jobs))
    if not wanted:
        return notes
    with QuickBooksClient(connection) as client:
        current = _fetch(client, [change for change, _ in wanted])
    for change, jobs in wanted:
        item = current.get((change.entity, change.entity_id))
        notes.extend(_compare(job, item) for job in jobs)
    return notes


def changes_since(connection: Connection, *, since: datetime) -> list[str]:
    """Reconciliation: every object of the entities we write changed since then, compared
    (one CDC call; the beat task runs it per connection)."""
    entities = sorted({e for names in ENTITY_OF_ACTION.values() for e in names})
    with QuickBooksClient(connection) as client:
        found = client.cdc(entities, changed_since=max(since, timezone.now() - CDC_WINDOW))
    notes: list[str] = []
    for entity, rows in found.items():
        for row in rows:
            if not isinstance(row, dict) or row.get("Id") is None:
                continue
            for job in SyncJob.objects.filter(
                connection=connection, external_id=str(row["Id"]), state=SyncJob.State.SYNCED
            ):
                if entity in entities_of(job):
                    notes.append(_compare(job, row))
    return notes
