"""`manage.py accounting_reconcile`: the nightly reconciliation of fees against Xero, now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from integrations.connectors.accounting.xero.reconcile import reconcile_fees
from integrations.sync.models import Connection


class Command(BaseCommand):
    help = "Compare each completed transfer's fee with its invoice in Xero; report mismatches."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=200, help="transfers, newest first")

    def handle(self, *args: Any, limit: int, **options: Any) -> None:
        connections = Connection.objects.filter(
            provider="xero", owner=Connection.Owner.PLATFORM, status=Connection.Status.ACTIVE
        )
        for connection in connections:
            report = reconcile_fees(connection_id=connection.pk, limit=limit)
            self.stdout.write(
                f"{connection}: {report.checked} transfers checked, "
                f"{len(report.mismatches)} mismatches"
                + (f" ({report.stopped_early})" if report.stopped_early else "")
            )
            for line in report.mismatches:
                self.stdout.write(f"  - {line}")
