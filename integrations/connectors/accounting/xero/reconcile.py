"""Our side against Xero: every completed transfer has its accounting objects, every fee sits
on the mapped revenue account with the ledger's amount. Each difference is a SyncMismatch
(unique while open, so running it twice adds nothing); nothing is corrected silently.

Run nightly by beat (`integrations.accounting_reconcile`, editable under Periodic tasks), or
at once with `manage.py accounting_reconcile`.
It reads Xero, so it spends the connection's call budget like any job: a run is bounded
(`limit` transfers, newest first) and stops early, saying so, when the budget runs out.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet

from fintech.transfers.models import Transfer
from integrations.connectors.accounting import facts
from integrations.connectors.accounting.followup import ReconcileReport
from integrations.connectors.accounting.xero.client import XeroClient
from integrations.connectors.accounting.xero.mapping import amount
from integrations.errors import RateLimited
from integrations.sync.models import AccountMapping, Connection, SyncJob, SyncMismatch


def _raise(
    report: ReconcileReport,
    connection: Connection,
    *,
    kind: str,
    reference: str,
    external_id: str,
    detail: str,
    ours: dict[str, str],
    theirs: dict[str, str],
) -> None:
    SyncMismatch.objects.get_or_create(
        connection=connection,
        kind=kind,
        object_type="transfer",
        object_id=reference,
        external_id=external_id,
        status=SyncMismatch.Status.OPEN,
        defaults={"detail": detail, "ours": ours, "theirs": theirs},
    )
    report.mismatches.append(detail)


def reconcile_fees(*, connection_id: int, limit: int = 200) -> ReconcileReport:
    connection = Connection.objects.get(pk=connection_id)
    report = ReconcileReport()
    fee_account = (
        AccountMapping.objects.filter(connection=connection, role="fee_revenue")
        .values_list("account_code", flat=True)
        .first()
    )
    invoices = {
        j.object_id: j
        for j in SyncJob.objects.filter(
            connection=connection, object_type="transfer", action="fee_invoice"
        )
    }
    transfers = Transfer.objects.filter(state=Transfer.State.COMPLETED).order_by("-completed_at")
    with XeroClient(connection) as client:
        for transfer_id, reference in transfers.values_list("pk", "reference")[:limit]:
            t = facts.transfer_facts(transfer_id=transfer_id)
            report.checked += 1
            if t.fee_minor == 0:
                continue
            ours = {
                "total": str(amount(t.fee_minor, t.source_currency)),
                "currency": t.source_currency,
                "account": fee_account or "",
            }
            job = invoices.get(reference)
            if job is None or job.state != SyncJob.State.SYNCED:
                _raise(
                    report,
                    connection,
                    kind=SyncMismatch.Kind.MISSING,
                    reference=reference,
                    external_id="",
                    detail=f"transfer {reference} is completed but its fee invoice is not in Xero",
                    ours=ours,
                    theirs={},
                )
                continue
            try:
                invoice = client.get("Invoices", job.external_id)
            except RateLimited as exc:
                report.stopped_early = f"stopped after {report.checked}: {exc.message}"
                break
            if invoice is None or str(invoice.get("Status", "")).upper() in ("VOIDED", "DELETED"):
                _raise(
                    report,
                    connection,
                    kind=SyncMismatch.Kind.EXTERNAL_DELETED,
                    reference=reference,
                    external_id=job.external_id,
                    detail=f"the fee invoice of {reference} is gone or voided in Xero",
                    ours=ours,
                    theirs={"status": str((invoice or {}).get("Status", "missing"))},
                )
                continue
            accounts = sorted(
                {str(li.get("AccountCode", "")) for li in invoice.get("LineItems") or []}
            )
            theirs = {
                "total": str(invoice.get("Total", "")),
                "currency": str(invoice.get("CurrencyCode", "")),
                "account": ",".join(accounts),
            }
            if (
                Decimal(theirs["total"] or "0") != Decimal(ours["total"])
                or theirs["account"] != ours["account"]
            ):
                _raise(
                    report,
                    connection,
                    kind=SyncMismatch.Kind.AMOUNT,
                    reference=reference,
                    external_id=job.external_id,
                    detail=(
                        f"the fee invoice of {reference} says {theirs['total']} on "
                        f"{theirs['account']}; the ledger says {ours['total']} on {ours['account']}"
                    ),
                    ours=ours,
                    theirs=theirs,
                )
    return report


def connections() -> QuerySet[Connection]:
    """What is reconciled: each active per-object connection of the platform's books."""
    return Connection.objects.filter(
        provider="xero",
        owner=Connection.Owner.PLATFORM,
        mode=Connection.Mode.PER_OBJECT,
        status=Connection.Status.ACTIVE,
    )


def reconcile(connection: Connection, *, limit: int = 200, hours: int = 0) -> ReconcileReport:
    """`manage.py accounting_reconcile`'s call (each connector's reconcile.py has one):
    the newest `limit` completed transfers' fees (`hours` is QuickBooks')."""
    return reconcile_fees(connection_id=connection.pk, limit=limit)


CHECKED = "transfers"  # what `checked` counts, in the command's output


def reconcile_all() -> dict[str, int]:
    """Each active per-object connection of the platform's books; mismatches found each."""
    return {
        str(connection.pk): len(reconcile_fees(connection_id=connection.pk).mismatches)
        for connection in connections()
    }
