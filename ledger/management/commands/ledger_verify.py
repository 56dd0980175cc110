"""Prove the books: every entry balances per currency, every stored balance equals its postings."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ledger.selectors import ledger_verify_report


class Command(BaseCommand):
    help = (
        "Check that every journal entry balances per currency and every stored balance "
        "(and held amount) equals the sum of its postings (and active holds). Exits non-zero "
        "with a report naming each discrepancy."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = ledger_verify_report()
        counts = (
            f"{report.entries} entries, {report.postings} postings, {report.accounts} accounts, "
            f"{report.active_holds} active holds"
        )
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"OK: {counts}"))
            return
        lines = "\n".join(f"  - {problem}" for problem in report.discrepancies)
        raise CommandError(
            f"ledger_verify found {len(report.discrepancies)} discrepancies ({counts}):\n{lines}"
        )
