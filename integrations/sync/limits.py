"""A provider's call budget per connection, counted in the database (every worker, every
machine sees the same count): calls per minute, per day, and a 429's Retry-After.

Each HTTP call a connector makes first takes one call from the budget with one conditional
UPDATE (`call_take`); when the budget is spent it raises RateLimited with the wait, and the
engine reschedules the job for then without spending an attempt. The windows are fixed (a
minute from the first call in it), simpler than the provider's rolling count; the provider's
own 429 and its remaining-calls headers (`call_limits_note`) correct the rest.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import (
    Case,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Value,
    When,
)
from django.db.models.functions import Greatest
from django.utils import timezone

from fintech.core.metrics import metric_incr
from integrations.errors import RateLimited
from integrations.sync.models import Connection, SyncJob

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
# The short window's length is per connection (`calls_window_seconds`: Xero counts per
# minute, HubSpot per 10 seconds); the fields keep their "minute" names.
_WINDOW = ExpressionWrapper(
    F("calls_window_seconds") * Value(timedelta(seconds=1)), output_field=DurationField()
)


def call_take(*, connection_id: int) -> None:
    """Spend one call of the connection's budget, or raise RateLimited with the wait."""
    now = timezone.now()
    window_start = ExpressionWrapper(Value(now) - _WINDOW, output_field=DateTimeField())
    new_minute = Q(minute_started_at__isnull=True) | Q(minute_started_at__lte=window_start)
    new_day = Q(day_started_at__isnull=True) | Q(day_started_at__lte=now - DAY)
    # Why one conditional UPDATE: the check and the count are one statement, so two workers
    # cannot both take the last call of a minute.
    taken = (
        Connection.objects.filter(pk=connection_id)
        .filter(Q(blocked_until__isnull=True) | Q(blocked_until__lte=now))
        .filter(new_minute | Q(minute_calls__lt=F("calls_per_minute")))
        .filter(new_day | Q(day_calls__lt=F("calls_per_day")))
        .update(
            minute_started_at=Case(
                When(new_minute, then=Value(now)), default=F("minute_started_at")
            ),
            minute_calls=Case(When(new_minute, then=Value(1)), default=F("minute_calls") + 1),
            day_started_at=Case(When(new_day, then=Value(now)), default=F("day_started_at")),
            day_calls=Case(When(new_day, then=Value(1)), default=F("day_calls") + 1),
        )
    )
    if taken == 1:
        return
    row = (
        Connection.objects.filter(pk=connection_id)
        .values(
            "blocked_until",
            "minute_started_at",
            "day_started_at",
            "minute_calls",
            "calls_per_minute",
            "calls_window_seconds",
        )
        .first()
    )
    if row is None:
        raise RateLimited(f"connection {connection_id} is gone", retry_after_seconds=60)
    waits = [1.0]
    why = "the call budget is spent"
    if row["blocked_until"] and row["blocked_until"] > now:
        waits.append((row["blocked_until"] - now).total_seconds())
        why = "the provider asked us to wait (429)"
    elif row["minute_calls"] >= row["calls_per_minute"] and row["minute_started_at"]:
        window = timedelta(seconds=row["calls_window_seconds"] or 60)
        waits.append((row["minute_started_at"] + window - now).total_seconds())
        why = f"the per-{int(window.total_seconds())}-second call limit is reached"
    elif row["day_started_at"] is not None:
        waits.append((row["day_started_at"] + DAY - now).total_seconds())
        why = "the daily call limit is reached"
    metric_incr("sync_rate_limited", labels={"connection": str(connection_id)})
    raise RateLimited(f"{why}; waiting", retry_after_seconds=max(waits))


def connection_block(*, connection_id: int, seconds: float) -> None:
    """The provider answered 429 with Retry-After: no call on this connection until then."""
    until = timezone.now() + timedelta(seconds=max(seconds, 1))
    # GREATEST ignores NULL in PostgreSQL: an unblocked connection gets `until`.
    Connection.objects.filter(pk=connection_id).update(
        blocked_until=Greatest(F("blocked_until"), Value(until))
    )
    # Its waiting jobs are due when the block ends: the scanner publishes them then (a wake-up
    # that arrived during the block found nothing to claim and is gone).
    SyncJob.objects.filter(
        connection_id=connection_id,
        state__in=[SyncJob.State.PENDING, SyncJob.State.RETRY_SCHEDULED],
        next_attempt_at__lt=until,
    ).update(next_attempt_at=until)


def call_limits_note(*, connection_id: int, minute_remaining: int | None) -> None:
    """The provider told us how many calls remain this minute: trust it over our count."""
    if minute_remaining is None:
        return
    # Only when they count more calls than we do: usually nothing matches, and a statement
    # that changes no row writes nothing (no commit to flush on the hot path).
    Connection.objects.filter(
        pk=connection_id,
        minute_started_at__isnull=False,
        minute_calls__lt=F("calls_per_minute") - minute_remaining,
    ).update(minute_calls=F("calls_per_minute") - minute_remaining)
