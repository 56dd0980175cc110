"""`manage.py reconciliation_run [--date YYYY-MM-DD] [--replay | --replay-run ID]`: a
reconciliation run now, printing each step as it goes (imports, matches per account,
exceptions per check) and the run record at the end. Exits non-zero when the run failed."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from integrations.reconciliation.runs import reconciliation_run


class Command(BaseCommand):
    help = "Run reconciliation for a date (default yesterday); --replay re-reads a past run."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", type=date.fromisoformat, default=None)
        parser.add_argument(
            "--replay", action="store_true", help="checks only, as the date's latest run knew it"
        )
        parser.add_argument(
            "--replay-run", type=int, default=None, help="checks only, as run ID knew it"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        step = 0

        def progress(message: str) -> None:
            nonlocal step
            step += 1
            self.stdout.write(f"[{step:>3}] {message}")
            self.stdout.flush()

        try:
            run = reconciliation_run(
                as_of=options["date"], trigger="command", actor_label="system:reconciliation_run",
                replay=options["replay"], replay_of=options["replay_run"], progress=progress,
            )  # fmt: skip
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        checks = run.counts.get("checks", {})
        self.stdout.write(
            f"run {run.pk} for {run.as_of}: {run.status}, {sum(checks.values())} exceptions, "
            f"{run.open_mismatches} open mismatches"
        )
        for error in run.errors:
            self.stdout.write(f"  error: {error}")
        if run.status == "failed":
            raise CommandError(f"run {run.pk} failed")
