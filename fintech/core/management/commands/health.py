"""`manage.py health`: the readiness checks of /health/ready, printed for a shell.

Exit status 0 when ready, 1 when any check failed (scripts and deploy steps can wait on it)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fintech.core.health import readiness


class Command(BaseCommand):
    help = "Check the database, Redis, migrations, a Celery worker and beat's last tick."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print /health/ready's body")

    def handle(self, *args: Any, **options: Any) -> None:
        report = readiness()
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), indent=2))
        else:
            for check in report.checks:
                mark = self.style.SUCCESS("ok  ") if check.ok else self.style.ERROR("FAIL")
                note = f"  {check.reason}" if check.reason else ""
                self.stdout.write(f"{mark} {check.name}{note}")
        if not report.ok:
            failed = ", ".join(c.name for c in report.checks if not c.ok)
            raise CommandError(f"not ready: {failed}", returncode=1)
        self.stdout.write(self.style.SUCCESS("ready"))
