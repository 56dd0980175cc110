"""`manage.py accounting_reconcile`: the nightly reconciliation of each accounting connector,
now: Xero's fees against its invoices (xero/reconcile.py, beat's
`integrations.accounting_reconcile`) and QuickBooks' changes against what we synced
(quickbooks/reconcile.py, beat's `integrations.quickbooks_reconcile`). Each difference is a
SyncMismatch for operators, as when beat runs them; nothing is corrected."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from django.core.management.base import BaseCommand

from integrations.connectors.accounting.quickbooks import reconcile as quickbooks_reconcile
from integrations.connectors.accounting.xero import reconcile as xero_reconcile

# Provider -> its connector's reconcile module (connections(), reconcile(), CHECKED).
RECONCILERS: dict[str, ModuleType] = {
    "xero": xero_reconcile,
    "quickbooks": quickbooks_reconcile,
}


class Command(BaseCommand):
    help = (
        "Reconcile each active accounting connection now: Xero's fees against its invoices, "
        "QuickBooks' recent changes against what we synced; report mismatches."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--provider", choices=sorted(RECONCILERS), help="only this connector (default: all)"
        )
        parser.add_argument("--limit", type=int, default=200, help="Xero: transfers, newest first")
        parser.add_argument(
            "--hours",
            type=int,
            default=quickbooks_reconcile.DEFAULT_HOURS,
            help="QuickBooks: objects changed in the last N hours (at most 30 days)",
        )

    def handle(
        self, *args: Any, provider: str | None, limit: int, hours: int, **options: Any
    ) -> None:
        for name, module in RECONCILERS.items():
            if provider and name != provider:
                continue
            for connection in module.connections():
                report = module.reconcile(connection, limit=limit, hours=hours)
                self.stdout.write(
                    f"{connection}: {report.checked} {module.CHECKED} checked, "
                    f"{len(report.mismatches)} mismatches"
                    + (f" ({report.stopped_early})" if report.stopped_early else "")
                )
                for line in report.mismatches:
                    self.stdout.write(f"  - {line}")
