"""What a provider now says about an object we synced, against what we told it.

Every accounting connector's webhooks (and its reconciliation) read the object back and
call `compare` with the provider's words for it ({total, currency, status}, or None when it
is gone). Deleted, voided or archived there, or another total: a SyncMismatch for operators
(unique while open, so a repeated webhook adds nothing). Neither side is ever overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.sync.models import SyncJob, SyncMismatch


@dataclass
class ReconcileReport:
    """One connection's reconciliation run (each connector's reconcile.py, the nightly task
    and `manage.py accounting_reconcile`): what was checked, the differences found (each also
    a SyncMismatch), and why it stopped early, if it did ("" when it ran through)."""

    checked: int = 0
    mismatches: list[str] = field(default_factory=list)
    stopped_early: str = ""


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def mismatch(job: SyncJob, kind: str, detail: str, theirs: dict[str, Any]) -> bool:
    _, created = SyncMismatch.objects.get_or_create(
        connection_id=job.connection_id,
        kind=kind,
        object_type=job.object_type,
        object_id=job.object_id,
        external_id=job.external_id,
        status=SyncMismatch.Status.OPEN,
        defaults={"job": job, "detail": detail, "ours": job.external_summary, "theirs": theirs},
    )
    return created


def compare(
    job: SyncJob,
    theirs: dict[str, str] | None,
    *,
    label: str,
    version: str,
    gone: frozenset[str],
) -> str:
    """One note for the inbound message's outcome; a mismatch raised where they disagree."""
    ours = job.external_summary or {}
    if theirs is None:
        mismatch(job, SyncMismatch.Kind.EXTERNAL_DELETED, f"{job} was deleted in {label}", {})
        return f"{job}: deleted in {label}"
    if version:
        SyncJob.objects.filter(pk=job.pk).update(external_version=version[:100])
    status = theirs.get("status", "").upper()
    if status in gone and str(ours.get("status", "")).upper() != status:
        mismatch(
            job,
            SyncMismatch.Kind.EXTERNAL_DELETED,
            f"{job} is {status.lower()} in {label}; the ledger still has it",
            theirs,
        )
        return f"{job}: {status.lower()} in {label}"
    ours_total, their_total = _decimal(ours.get("total")), _decimal(theirs.get("total"))
    if ours_total is not None and their_total is not None and ours_total != their_total:
        mismatch(
            job,
            SyncMismatch.Kind.AMOUNT,
            f"{job}: {label} has {their_total}, we synced {ours_total}",
            theirs,
        )
        return f"{job}: amount differs"
    return f"{job}: consistent"
