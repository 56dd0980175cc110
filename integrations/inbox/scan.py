"""The inbox scan: keeps the exception items in step with their sources, set-based.

Per source, three statements, each over the source's "problems now" query (sources.py):
open an item for each new problem (INSERT ... SELECT ... ON CONFLICT DO NOTHING), resolve
the open items whose source row is no longer a problem, and refresh the severity and title
of the others. Nothing is looped over in Python, so 100,000 open problems cost three
statements per source.

Idempotent: the partial unique index (one open item per source row) makes a second scan, or
one running at the same time, open nothing twice. A problem a person resolved stays resolved
until it happens again: a source row whose problem began after that resolution opens a new
item; one that began before does not (the person decided about that very problem).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from integrations.inbox.sources import SOURCES
from integrations.models import ExceptionItem

logger = logging.getLogger(__name__)

# One scan at a time (pg_try_advisory_xact_lock): a second one finds the work being done and
# returns at once. Correctness does not depend on it (ON CONFLICT does), only wasted work.
_LOCK_KEY = 0x1B0C5  # "inbox"
AUTO_RESOLVED_NOTE = "Fixed at the source (found by the inbox scan)."


@dataclass
class ScanResult:
    ran: bool = True
    opened: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.opened.values()) + sum(self.resolved.values())


def exception_scan() -> ScanResult:
    """Open items for new problems and resolve those fixed at the source, in one transaction."""
    table = ExceptionItem._meta.db_table
    now = timezone.now()
    result = ScanResult()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return ScanResult(ran=False)
        # Every statement below joins whole sets. On statistics older than the last scan's
        # insert of thousands of items, the planner may pick a nested loop that reads the
        # source query once per item (100,000 x 100,000); hash and merge joins are right here.
        # (Restored after: the caller's transaction, if any, goes on as it was.)
        cursor.execute("SELECT current_setting('enable_nestloop')")
        nestloop = cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_nestloop = off")
        _scan_sources(cursor, table=table, now=now, result=result)
        cursor.execute("SELECT set_config('enable_nestloop', %s, true)", [nestloop])
    if result.total:
        logger.info(
            "exception_inbox.scanned", extra={"opened": result.opened, "resolved": result.resolved}
        )
    return result


def _scan_sources(cursor: Any, *, table: str, now: datetime, result: ScanResult) -> None:
    for key, source in SOURCES.items():
        problems, params = source.problems(now).query.sql_with_params()
        # Resolve and refresh first: they need only the items that existed before this scan
        # (the new ones were just found to be problems).
        cursor.execute(
            f"""
            UPDATE {table} i SET resolved_at = %s, resolution_note = %s
            WHERE i.source = %s AND i.resolved_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM ({problems}) p WHERE p.x_sid = i.source_id)
            """,  # noqa: S608
            [now, AUTO_RESOLVED_NOTE, key, *params],
        )
        result.resolved[key] = cursor.rowcount
        # A failed job that went dead, a mismatch's new amount: the item says so.
        cursor.execute(
            f"""
            UPDATE {table} i SET severity = p.x_severity, title = coalesce(p.x_title, '')
            FROM ({problems}) p
            WHERE i.source = %s AND i.resolved_at IS NULL AND i.source_id = p.x_sid
              AND (i.severity <> p.x_severity OR i.title <> coalesce(p.x_title, ''))
            """,  # noqa: S608
            [*params, key],
        )
        # Column names, not positions: the aliases are the annotations' names.
        cursor.execute(
            f"""
            INSERT INTO {table} (source, source_id, severity, title, opened_at, detected_at,
                owner_id, snoozed_until, snooze_reason, resolved_at, resolved_by_id,
                resolution_note)
            SELECT %s, p.x_sid, p.x_severity, coalesce(p.x_title, ''), p.x_since, %s,
                p.x_owner, NULL, '', NULL, NULL, ''
            FROM ({problems}) p
            WHERE NOT EXISTS (
                SELECT 1 FROM {table} r
                WHERE r.source = %s AND r.source_id = p.x_sid
                  AND r.resolved_by_id IS NOT NULL AND r.resolved_at >= p.x_since)
            ON CONFLICT (source, source_id) WHERE resolved_at IS NULL DO NOTHING
            """,  # noqa: S608 (table from the model, the sub-select compiled by the ORM)
            [key, now, *params, key],
        )
        result.opened[key] = cursor.rowcount
