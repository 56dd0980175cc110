"""The run on real PostgreSQL: everything matched opens nothing; a stray line, a missing
line and an amount off by one each open exactly one mismatch; resolving or new data clears
them; a replay of the date gives the same counts; a failing check fails the run and alerts.

People: ops (operator)."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from fintech.core.models import AuditEvent, OutboxEvent
from integrations.reconciliation import checks
from integrations.reconciliation.checks import CheckContext, register_check
from integrations.reconciliation.models import Mismatch, ReconRun
from integrations.reconciliation.runs import reconciliation_run, reconciliation_watchdog
from tests.reconciliation.recon_builders import bank_account, ledger_record, statement

pytestmark = pytest.mark.django_db
D = date(2026, 11, 2)
AS_OF = date(2026, 11, 10)


def open_by_check() -> dict[str, int]:
    found: dict[str, int] = {}
    for m in Mismatch.objects.filter(state__in=["open", "investigating"]):
        found[m.check_name] = found.get(m.check_name, 0) + 1
    return found


def scenario():
    account = bank_account()
    ledger_record(account, 1000, day=D, key="wallet-funding:sandbox-bank:OK-1")
    ledger_record(account, 2000, day=D, key="wallet-funding:sandbox-bank:MISSING-1")
    ledger_record(account, 3000, day=D, key="wallet-funding:sandbox-bank:OFF-1")
    statement(account, [
        {"amount_minor": 1000, "day": D, "end_to_end_id": "OK-1"},
        {"amount_minor": 3001, "day": D, "end_to_end_id": "OFF-1"},
        {"amount_minor": 777, "day": D, "remittance_info": "who?"},
    ])  # fmt: skip
    return account


def test_each_fault_opens_exactly_one_mismatch_and_a_replay_gives_the_same_counts(ops_actor):
    account = scenario()

    run = reconciliation_run(as_of=AS_OF)

    assert run.status == "succeeded"
    assert open_by_check() == {
        "statement_line_unmatched": 1,  # the stray 7.77
        "ledger_record_unmatched": 1,  # MISSING-1 never reached the bank
        "match_amount_difference": 1,  # OFF-1: 30.01 against 30.00
    }
    assert run.counts["checks"]["statement_line_unmatched"] == 1
    assert run.open_mismatches == 3
    off = Mismatch.objects.get(check_name="match_amount_difference")
    assert (off.difference_minor, off.bank_account_id) == (1, account.pk)

    again = reconciliation_run(as_of=AS_OF)
    assert again.counts["mismatches"]["opened"] == 0
    assert again.counts["mismatches"]["seen"] == 3

    replay = reconciliation_run(as_of=AS_OF, replay=True)
    assert replay.counts["checks"] == run.counts["checks"]
    assert replay.trigger == "replay"


def test_a_date_run_twice_replays_as_it_last_stood_or_as_a_named_run(ops_actor):
    account = bank_account()
    ledger_record(account, 1000, day=D, key="wallet-funding:sandbox-bank:OK-1")
    statement(account, [{"amount_minor": 1000, "day": D, "end_to_end_id": "OK-1"}])
    clean = reconciliation_run(as_of=AS_OF)
    assert clean.counts["exceptions"] == 0
    # New data after the clean night: a stray line. The date is run again.
    statement(account, [{"amount_minor": 777, "day": D, "remittance_info": "who?"}])
    faulty = reconciliation_run(as_of=AS_OF)
    assert faulty.counts["checks"]["statement_line_unmatched"] == 1

    latest = reconciliation_run(as_of=AS_OF, replay=True)
    assert latest.counts["checks"] == faulty.counts["checks"]
    named = reconciliation_run(replay_of=clean.pk)
    assert (named.as_of, named.counts["checks"]) == (AS_OF, clean.counts["checks"])
    assert Mismatch.objects.count() == 1  # replays touch no mismatch

    call_command("reconciliation_run", "--replay-run", str(clean.pk))
    assert ReconRun.objects.filter(trigger="replay").count() == 3
    with pytest.raises(CommandError, match="replay_of: run 999999"):
        call_command("reconciliation_run", "--replay-run", "999999")


def test_a_missing_line_that_arrives_later_clears_its_mismatch():
    account = scenario()
    reconciliation_run(as_of=AS_OF)

    statement(account, [{"amount_minor": 2000, "day": D, "end_to_end_id": "MISSING-1"}])
    run = reconciliation_run(as_of=AS_OF)

    m = Mismatch.objects.get(check_name="ledger_record_unmatched")
    assert (m.state, m.resolution) == ("resolved", "cleared")
    assert run.counts["mismatches"]["cleared"] == 1
    assert AuditEvent.objects.filter(action="mismatch.cleared", target_id=str(m.pk)).exists()


def test_a_failing_check_fails_the_run_alerts_and_clears_nothing(caplog):
    scenario()
    reconciliation_run(as_of=AS_OF)

    @register_check("statement_line_unmatched", "broken for the test")
    def broken(ctx: CheckContext):
        raise RuntimeError("database went away")

    try:
        with caplog.at_level(logging.ERROR):
            run = reconciliation_run(as_of=AS_OF)
    finally:
        register_check("statement_line_unmatched", "restored")(checks.statement_line_unmatched)

    assert run.status == "failed"
    assert run.errors[0]["check"] == "statement_line_unmatched"
    assert Mismatch.objects.get(check_name="statement_line_unmatched").state == "open"
    assert "reconciliation.run_failed" in caplog.text
    assert OutboxEvent.objects.filter(type="reconciliation.alert").exists()


def test_more_open_mismatches_than_last_night_alerts(caplog):
    account = scenario()
    reconciliation_run(as_of=AS_OF)
    statement(account, [{"amount_minor": 5, "day": D, "remittance_info": "another stray"}])

    with caplog.at_level(logging.ERROR):
        reconciliation_run(as_of=AS_OF)

    assert "reconciliation.mismatches_rose" in caplog.text


def test_the_watchdog_alerts_when_no_run_started(settings, caplog):
    from datetime import UTC, datetime

    settings.RECONCILIATION_RUN_AT = "03:00"
    settings.RECONCILIATION_GRACE_HOURS = 2
    assert not reconciliation_watchdog(now=datetime(2026, 11, 11, 4, 0, tzinfo=UTC))
    with caplog.at_level(logging.ERROR):
        assert reconciliation_watchdog(now=datetime(2026, 11, 11, 6, 0, tzinfo=UTC))
    assert "reconciliation.run_missing" in caplog.text
    ReconRun.objects.create(as_of=date(2026, 11, 10), started_by="test", trigger="beat")
    assert not reconciliation_watchdog(now=datetime(2026, 11, 11, 6, 0, tzinfo=UTC))


def test_the_command_prints_progress_and_the_run(capsys):
    scenario()
    call_command("reconciliation_run", "--date", AS_OF.isoformat())
    out = capsys.readouterr().out
    assert "check statement_line_unmatched: 1 exceptions" in out
    assert "succeeded" in out
    register_check("hold_old", "broken")(lambda ctx: 1 / 0)
    try:
        with pytest.raises(CommandError):
            call_command("reconciliation_run", "--date", AS_OF.isoformat())
    finally:
        register_check("hold_old", "restored")(checks.hold_old)
