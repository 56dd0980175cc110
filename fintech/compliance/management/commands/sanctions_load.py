"""Load a sanctions list file as a new version: `sanctions_load --source ofac FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fintech.compliance.screening.parsers import PARSERS
from fintech.compliance.screening.services import sanctions_list_load
from fintech.core.errors import DomainError
from fintech.core.services import Actor


class Command(BaseCommand):
    help = (
        "Load a sanctions list file (OFAC SDN XML, UN consolidated XML or OpenSanctions FtM "
        "JSON lines) as a new version; every subject is rescreened by the next scan."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", required=True, choices=sorted(PARSERS))
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--by", default="", help="who loads it, for the audit trail (default: the OS user)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        who = options["by"] or _os_user()
        try:
            result = sanctions_list_load(
                actor=Actor(label=f"command:{who}"), source=options["source"], path=path
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(result.summary)


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
