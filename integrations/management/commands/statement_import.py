"""`manage.py statement_import <bank account id> <file>...`: import bank statements (camt.053,
camt.054, MT940, or CSV with the account's saved mapping), one line per file: imported,
duplicate, flagged (with its reasons) or refused (with the reason). Exits non-zero when any
file was refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from fintech.core.errors import DomainError
from fintech.core.services import Actor
from integrations.reconciliation.services import FORMATS, statement_import


class Command(BaseCommand):
    help = "Import bank statement files for one bank account; report each file's outcome."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("bank_account_id", type=int)
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--format", choices=FORMATS, default=None, help="default: detect")

    def handle(self, *args: Any, bank_account_id: int, files: list[Path], **options: Any) -> None:
        actor = Actor.system("statement_import")
        refused = 0
        for path in files:
            try:
                content = path.read_bytes()
            except OSError as exc:
                refused += 1
                self.stdout.write(f"{path}: refused: cannot read ({exc.strerror})")
                continue
            try:
                result = statement_import(
                    actor=actor,
                    bank_account_id=bank_account_id,
                    filename=path.name,
                    content=content,
                    format=options["format"],
                )
            except DomainError as exc:
                refused += 1
                self.stdout.write(f"{path}: refused: {exc}")
                continue
            statements = len(result.statements)
            if result.duplicate:
                self.stdout.write(f"{path}: duplicate: already imported ({statements} statements)")
            elif result.flagged:
                self.stdout.write(
                    f"{path}: flagged: {statements} statements, {result.line_count} lines"
                )
                for flag in result.flags:
                    self.stdout.write(f"  - {flag}")
            else:
                self.stdout.write(
                    f"{path}: imported: {statements} statements, {result.line_count} lines"
                )
        if refused:
            raise CommandError(f"{refused} of {len(files)} files refused")
