"""Every task retries a transient database error with backoff instead of failing or marking
its row failed (the task class, fintech/core/task_base.py); each retry is counted."""

from __future__ import annotations

import pytest
from celery.signals import task_retry

from fintech.core.metrics import metric_field, metrics_snapshot
from fintech.transfers.models import Transfer
from integrations.inbound.tasks import inbound_process
from integrations.models import InboundWebhook
from tests.dbfaults import DatabaseSwitch
from tests.integrations.test_inbound_webhooks import partner_event, post

pytestmark = pytest.mark.django_db(transaction=True)
RETRIED = metric_field("tasks_retried_transient", {"task": "integrations.inbound_process"})


def test_a_task_meeting_a_dead_database_is_retried_and_then_succeeds(client, processing) -> None:
    assert post(client, partner_event(processing.reference, "payout.sent")).status_code == 202
    row = InboundWebhook.objects.get()
    before = metrics_snapshot().get(RETRIED, 0)
    database = DatabaseSwitch()
    retries = []

    def back_up(sender, reason, **kwargs) -> None:
        # The database is back by the time the retry runs.
        retries.append(reason)
        database.up()

    task_retry.connect(back_up, weak=False)
    try:
        database.down()
        # apply() runs the task here, and its retries at once (eagerly): the first attempt
        # meets psycopg's real "connection refused".
        result = inbound_process.apply(args=(str(row.pk),))
    finally:
        task_retry.disconnect(back_up)
        database.up()

    assert result.get() == "processed"
    assert len(retries) == 1
    assert "connection" in str(retries[0].exc).lower()
    assert metrics_snapshot().get(RETRIED, 0) == before + 1
    processing.refresh_from_db()
    assert processing.state == Transfer.State.COMPLETED


def test_a_task_gives_up_after_a_few_minutes_of_retries() -> None:
    """Bounded: with the database down throughout, it stops after TRANSIENT_MAX_RETRIES (the
    row stays due for the scanner)."""
    from fintech.core.task_base import TRANSIENT_MAX_RETRIES

    retries = []

    def count(sender, reason, **kwargs) -> None:
        retries.append(reason)

    database = DatabaseSwitch()
    task_retry.connect(count, weak=False)
    try:
        database.down()
        result = inbound_process.apply(args=("00000000-0000-0000-0000-000000000000",))
    finally:
        task_retry.disconnect(count)
        database.up()
    assert result.failed()
    assert len(retries) == TRANSIENT_MAX_RETRIES
