"""Reads of the exception inbox: what a user may see, and the open counts for the dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from integrations.inbox.sources import SOURCES, sources_visible_to
from integrations.models import ExceptionItem


def items_visible_to(user: Any) -> QuerySet[ExceptionItem]:
    """Every item (open, snoozed, resolved) of the sources `user` may view."""
    return ExceptionItem.objects.filter(source__in=sources_visible_to(user))


def open_q(now: datetime | None = None) -> Q:
    """Open: not resolved, and not snoozed (or the snooze has run out)."""
    now = now or timezone.now()
    return Q(resolved_at__isnull=True) & (Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))


def snoozed_q(now: datetime | None = None) -> Q:
    return Q(resolved_at__isnull=True, snoozed_until__gt=now or timezone.now())


def open_exception_counts(*, user: Any = None) -> list[dict[str, Any]]:
    """Open items by source and severity, with the oldest's start, in one aggregate query:
    `[{"source", "source_label", "severity", "count", "oldest"}]`, worst first. With `user`,
    only the sources that user may see."""
    qs = ExceptionItem.objects.filter(open_q())
    if user is not None:
        qs = qs.filter(source__in=sources_visible_to(user))
    rows = (
        qs.values("source", "severity")
        .annotate(count=Count("id"), oldest=Min("opened_at"))
        .order_by("-severity", "source")
    )
    labels = dict(ExceptionItem.Source.choices)
    return [{**row, "source_label": labels.get(row["source"], row["source"])} for row in rows]


def source_link(item: ExceptionItem) -> str | None:
    """The admin page of the item's source row, where the fixing action is."""
    source = SOURCES.get(item.source)
    return source.link(item.source_id) if source else None


def source_fix(item: ExceptionItem) -> str:
    source = SOURCES.get(item.source)
    return source.fix if source else ""
