"""Daily-journal mode: one balanced journal per day and currency of the ledger's movements.

For a connection in this mode (the platform's books), the scan queues a `journal` job for
every past day and currency with movements, up to yesterday (today is still moving), and
remembers how far it got (`Connection.journaled_through`). The days come from one streamed
aggregate query (facts.daily_movements): a backfill of years of entries uses constant memory.
Each job sums its day again when it runs, so the journal says what the ledger says.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta

from django.db import transaction
from django.utils import timezone

from integrations.connectors.accounting import facts
from integrations.sync.models import Connection
from integrations.sync.services import job_ensure

# Days queued per connection per scan: a long backfill advances in bounded steps.
DAYS_PER_SCAN = 31


def journal_days_queue(*, connection_id: int, through: date | None = None) -> int:
    """Queue the journal jobs of the days after `journaled_through`, up to `through`
    (yesterday by default), at most DAYS_PER_SCAN days; returns how many jobs."""
    # Days are UTC days, as the ledger's daily totals are.
    yesterday = timezone.now().astimezone(UTC).date() - timedelta(days=1)
    through = min(through or yesterday, yesterday)
    with transaction.atomic():
        # Why a row lock: two scanners must not queue the same days (the jobs are unique
        # anyway; this keeps `journaled_through` moving forward only).
        connection = Connection.objects.select_for_update().get(pk=connection_id)
        start = (
            connection.journaled_through + timedelta(days=1)
            if connection.journaled_through
            else facts.ledger_first_day()
        )
        if start is None or start > through:
            return 0
        end = min(through, start + timedelta(days=DAYS_PER_SCAN - 1))
        queued = 0
        for movement in facts.daily_movements(start=start, end=end):
            _, created = job_ensure(
                connection=connection,
                object_type="journal_day",
                object_id=f"{movement.day.isoformat()}:{movement.currency}",
                action="journal",
            )
            queued += int(created)
        connection.journaled_through = end
        connection.save(update_fields=["journaled_through", "updated_at"])
    return queued


def journal_scan() -> int:
    """The beat scan: every active daily-journal connection, a bounded step each."""
    queued = 0
    for connection_id in Connection.objects.filter(
        status=Connection.Status.ACTIVE, mode=Connection.Mode.DAILY_JOURNAL
    ).values_list("pk", flat=True):
        queued += journal_days_queue(connection_id=connection_id)
    return queued
