"""The audit trail as CSV, streamed: filtered by actor, object and time range, bounded.

- Bounded by the range, not by a row count: a range wider than AUDIT_EXPORT_MAX_DAYS is refused
  with a message that says so (a partial file cut at N rows would look complete to an auditor).
- Streamed: the rows come from a server-side cursor (`.iterator(chunk_size=...)`, a named
  PostgreSQL cursor) and leave as CSV lines through StreamingHttpResponse, so a month of a busy
  trail never sits in the web process's memory.
- Itself audited: `audit_export_record` writes who exported which filters and range, before the
  first row leaves.
- Spreadsheet-safe: a cell that starts with = + - @ (or a tab or carriage return) is prefixed
  with ' so a reason typed by a customer never runs as a formula in the auditor's spreadsheet.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from fintech.core.models import AuditEvent
from fintech.core.services import Actor, audit_record

COLUMNS = [
    "occurred_at",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "reason",
    "request_id",
    "data",
]
CHUNK_SIZE = 2000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


class ExportRefused(ValueError):
    """The request cannot be exported as asked; the message says why, for the operator."""


@dataclass(frozen=True, slots=True)
class AuditExportFilters:
    since: datetime
    until: datetime
    actor_label: str = ""
    target_type: str = ""
    target_id: str = ""

    def as_data(self) -> dict[str, str]:
        data = asdict(self)
        data["since"] = self.since.isoformat()
        data["until"] = self.until.isoformat()
        return {key: value for key, value in data.items() if value}


def _moment(name: str, raw: str, *, end_of_day: bool) -> datetime:
    """An ISO 8601 date-time, or a date (its start, or for `until` its end); naive ones are in
    the platform's time zone."""
    try:
        # A bare date first: parse_datetime (fromisoformat) would read it as its midnight.
        day: date | None = parse_date(raw) if _DATE_ONLY.fullmatch(raw) else None
        if day is not None:
            moment = datetime.combine(day + timedelta(days=1) if end_of_day else day, time.min)
        else:
            parsed = parse_datetime(raw)
            if parsed is None:
                raise ValueError(raw)
            moment = parsed
    except ValueError as exc:
        raise ExportRefused(
            f"{name}={raw!r} is not a date (2026-12-01) or date-time (2026-12-01T09:30)"
        ) from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def audit_export_filters(params: Mapping[str, str], *, now: datetime) -> AuditExportFilters:
    """The filters from a query string: `since`, `until` (default: the last
    AUDIT_EXPORT_MAX_DAYS days up to now), `actor_label`, `target_type`, `target_id` (exact)."""
    max_days: int = settings.AUDIT_EXPORT_MAX_DAYS
    until_raw = (params.get("until") or "").strip()
    since_raw = (params.get("since") or "").strip()
    until = _moment("until", until_raw, end_of_day=True) if until_raw else now
    since = (
        _moment("since", since_raw, end_of_day=False)
        if since_raw
        else until - timedelta(days=max_days)
    )
    if since >= until:
        raise ExportRefused("The range is empty: `since` must be before `until`.")
    if until - since > timedelta(days=max_days):
        raise ExportRefused(
            f"The range {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} is wider than the "
            f"{max_days}-day maximum (AUDIT_EXPORT_MAX_DAYS): export it in parts."
        )
    target_id = (params.get("target_id") or "").strip()
    target_type = (params.get("target_type") or "").strip()
    if target_id and not target_type:
        raise ExportRefused("An object id needs its type: give target_type with target_id.")
    return AuditExportFilters(
        since=since,
        until=until,
        actor_label=(params.get("actor_label") or "").strip(),
        target_type=target_type,
        target_id=target_id,
    )


# Audit actions whose rows say why (a screening hit's decision and its note): shown only to
# staff holding the permission. Registered by the app that owns them (its AppConfig.ready).
_RESTRICTED_ACTIONS: dict[str, str] = {}


def audit_restrict(*, action_prefix: str, permission: str) -> None:
    """Rows whose action starts with `action_prefix` only for staff with `permission`."""
    _RESTRICTED_ACTIONS[action_prefix] = permission


def audit_events_visible(queryset: QuerySet[AuditEvent], user: Any) -> QuerySet[AuditEvent]:
    """`queryset` without the rows `user` may not read (see audit_restrict)."""
    for prefix, permission in _RESTRICTED_ACTIONS.items():
        if not user.has_perm(permission):
            queryset = queryset.exclude(action__startswith=prefix)
    return queryset


def audit_events_for_export(filters: AuditExportFilters, *, user: Any) -> Iterator[tuple[Any, ...]]:
    """The rows `user` may read, in time order, through a server-side cursor CHUNK_SIZE rows
    at a time."""
    queryset = audit_events_visible(
        AuditEvent.objects.filter(occurred_at__gte=filters.since, occurred_at__lt=filters.until),
        user,
    )
    if filters.actor_label:
        queryset = queryset.filter(actor_label=filters.actor_label)
    if filters.target_type:
        queryset = queryset.filter(target_type=filters.target_type)
    if filters.target_id:
        queryset = queryset.filter(target_id=filters.target_id)
    return (
        queryset.order_by("occurred_at", "id").values_list(*COLUMNS).iterator(chunk_size=CHUNK_SIZE)
    )


def audit_export_record(*, actor: Actor, filters: AuditExportFilters) -> AuditEvent:
    """Who exported what: an audit row of its own, written before the first row leaves."""
    return audit_record(
        actor=actor,
        action="audit.exported",
        target=AuditEvent(pk="export"),  # the trail itself: core.auditevent:export
        data=filters.as_data(),
    )


class _Line:
    """A file-like object whose write returns the line, for csv.writer to stream through."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, separators=(",", ":"))
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def audit_export_csv(rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])
