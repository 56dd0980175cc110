"""Run the monitoring rules over recent history now (what the nightly beat task does)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from fintech.monitoring.services import NIGHTLY_LOOKBACK_HOURS, monitoring_nightly_run


class Command(BaseCommand):
    help = "Run every active monitoring rule over recent transfers; alerts are never raised twice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hours",
            type=int,
            default=NIGHTLY_LOOKBACK_HOURS,
            help=f"look back this many hours of transfers (default {NIGHTLY_LOOKBACK_HOURS})",
        )

    def handle(self, *args: Any, hours: int, **options: Any) -> None:
        if hours < 1:
            self.stderr.write("--hours must be at least 1")
            raise SystemExit(2)
        raised = monitoring_nightly_run(lookback_hours=hours)
        self.stdout.write(f"{raised} alert(s) raised over the last {hours} hours")
