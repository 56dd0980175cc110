"""Our side against QuickBooks: every object QuickBooks changed in the last `hours`, read in
one Change Data Capture call per connection, compared with what we synced (followup.py:
deleted, voided or inactive there, or another total, is a SyncMismatch, unique while open;
neither side is ever corrected). The webhooks do the same change by change; this is the
safety net behind them.

Run nightly by beat (`integrations.quickbooks_reconcile`, tasks.py), or at once with
`manage.py accounting_reconcile` (beside Xero's fee check, xero/reconcile.py).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from integrations.connectors.accounting.followup import ReconcileReport
from integrations.connectors.accounting.quickbooks import followup
from integrations.connectors.accounting.quickbooks.client import PROVIDER
from integrations.errors import IntegrationError
from integrations.sync.models import Connection

DEFAULT_HOURS = 25  # a day and the hour a nightly run may drift
CHECKED = "changed objects"  # what `checked` counts, in the command's output


def connections() -> QuerySet[Connection]:
    """What is reconciled: every active QuickBooks connection (both books, both modes)."""
    return Connection.objects.filter(provider=PROVIDER, status=Connection.Status.ACTIVE)


def reconcile(
    connection: Connection, *, limit: int = 0, hours: int = DEFAULT_HOURS
) -> ReconcileReport:
    """The changes of the last `hours` compared (`limit` is Xero's). A connection that cannot
    be read now (throttled, a token refused, QuickBooks down) says so and is left for the
    next run."""
    report = ReconcileReport()
    since = timezone.now() - timedelta(hours=hours)
    try:
        notes = followup.changes_since(connection, since=since)
    except IntegrationError as exc:
        report.stopped_early = f"not read now: {exc.message}"
        return report
    report.checked = len(notes)
    report.mismatches = [note for note in notes if not note.endswith(": consistent")]
    return report


def reconcile_all(hours: int = DEFAULT_HOURS) -> dict[str, int]:
    """Each active connection: the objects compared (-1: it could not be read now)."""
    done: dict[str, int] = {}
    for connection in connections():
        report = reconcile(connection, hours=hours)
        done[str(connection.pk)] = -1 if report.stopped_early else report.checked
    return done
