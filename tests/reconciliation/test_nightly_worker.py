"""The nightly run end to end on a real Celery worker (a throwaway Redis as the broker): the
task beat sends by name runs, records its run, opens exactly the expected mismatches; a
replay (the command) gives the same counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from fintech.celery import app as celery_app
from integrations.reconciliation.models import Mismatch, ReconRun
from tests.integrations.conftest import wait_for
from tests.reconciliation.recon_builders import bank_account, ledger_record, statement

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_beat_task_runs_on_a_real_worker_and_a_replay_agrees(start_worker):
    account = bank_account()
    yesterday = timezone.now().date() - timedelta(days=1)
    day = yesterday - timedelta(days=5)
    ledger_record(account, 1000, day=day, key="wallet-funding:sandbox-bank:N-1")
    ledger_record(account, 2000, day=day, key="wallet-funding:sandbox-bank:N-2")
    statement(account, [
        {"amount_minor": 1000, "day": day, "end_to_end_id": "N-1"},
        {"amount_minor": 5, "day": day, "remittance_info": "stray"},
    ])  # fmt: skip
    start_worker()

    celery_app.send_task("integrations.reconciliation_run")  # what beat sends
    wait_for(lambda: ReconRun.objects.filter(finished_at__isnull=False).exists(), timeout=60)

    run = ReconRun.objects.get()
    assert (run.trigger, run.status, run.as_of) == ("beat", "succeeded", yesterday)
    assert sorted(Mismatch.objects.values_list("check_name", flat=True)) == [
        "ledger_record_unmatched",
        "statement_line_unmatched",
    ]
    call_command("reconciliation_run", "--date", yesterday.isoformat(), "--replay")
    replay = ReconRun.objects.get(trigger="replay")
    assert replay.counts["checks"] == run.counts["checks"]
    assert isinstance(run.as_of, date)
