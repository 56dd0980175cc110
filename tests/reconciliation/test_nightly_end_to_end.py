"""Two nights of reconciliation end to end on real Celery beat: our live server (the payout
partner's and Xero's sandboxes, the webhooks they call), a real worker and real beat on a
throwaway Redis, the platform's books connected to the Xero sandbox by the OAuth dance.

Night 1: two transfers paid out and synced to Xero; the run pulls the partner's report and
matches it: no mismatch. During day 2, someone voids a fee invoice in Xero, the partner
returns a payout (its notification never reaches us: its report tells), and the bank's
statement, dropped in the import folder, carries a charge we never booked. Night 2 opens
exactly one mismatch for each; operators resolve the three; a replay of night 2 gives its
counts again."""

from __future__ import annotations

import importlib
import json
from datetime import date
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from fintech.core.services import Actor
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_refund
from integrations.models import SandboxPayout
from integrations.reconciliation.mismatches import (
    mismatch_resolve_by_match,
    mismatch_resolve_note,
    mismatch_write_off,
    mismatch_write_off_approve,
)
from integrations.reconciliation.models import BankAccount, Mismatch, ReconRun, StatementLine
from integrations.reconciliation.runs import reconciliation_run
from integrations.sync.models import SyncJob, SyncMismatch
from ledger.models import Posting
from tests.integrations.conftest import fund_wallet, wait_for
from tests.integrations.test_xero_sync import (  # noqa: F401 (fixtures)
    books,
    control,
    jobs_of,
    ours,
    settled,
    submitted,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
NIGHTLY = "integrations: reconciliation run (nightly)"
CSV_MAPPING = {"date": "Date", "amount": "Amount", "reference": "Ref", "remittance": "Text",
               "currency_code": "GBP"}  # fmt: skip


def beat_schedules() -> None:
    """The beat rows the migrations create (a transactional test starts with none): the
    relay and the due scans every 5 s, the nightly run and its watchdog."""
    for name in ("0002_beat_schedules", "0012_reconciliation_matching"):
        importlib.import_module(f"integrations.migrations.{name}").create_schedules(
            django_apps, None
        )


def night(as_of: date) -> ReconRun:
    """Beat runs the nightly task once, now, for `as_of`: a one-off schedule row as an operator
    would add it (the nightly row itself waits for 03:15)."""
    now, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    before = list(ReconRun.objects.values_list("pk", flat=True))
    PeriodicTask.objects.create(
        name=f"reconciliation run for {as_of}, #{len(before) + 1}",
        task=PeriodicTask.objects.get(name=NIGHTLY).task, interval=now, one_off=True,
        kwargs=json.dumps({"as_of": as_of.isoformat()}),
    )  # fmt: skip
    return wait_for(
        lambda: ReconRun.objects.exclude(pk__in=before).filter(finished_at__isnull=False).first(),
        timeout=120,
    )


def open_mismatches() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for m in Mismatch.objects.filter(state__in=["open", "investigating"]).order_by("key"):
        found.setdefault(m.check_name, []).append(m.key)
    return found


def test_two_nights_on_real_beat(books, ours, start_worker, alice, tmp_path: Path) -> None:  # noqa: F811
    today = timezone.now().date()
    inbox = tmp_path / "statements"
    partner = BankAccount.objects.create(
        name="Payout partner EUR", account_number="SANDBOX-PAYOUT-EUR", currency="EUR",
        ledger_account_code="payout:sandbox-payout:EUR",
    )  # fmt: skip
    bank = BankAccount.objects.create(
        name="Client money GBP", account_number="GB29NWBK60161331926819", currency="GBP",
        ledger_account_code="funding:sandbox-bank:GBP", csv_mapping=CSV_MAPPING,
    )  # fmt: skip
    beat_schedules()
    start_worker(base_url=ours, RECONCILIATION_INBOX_DIR=str(inbox))
    start_worker(base_url=ours, beat=True)

    fund_wallet(alice, "GBP", 10_000_00)
    kept = submitted(alice, amount="250.00")
    returned = submitted(alice, amount="120.00")
    wait_for(
        lambda: (
            all(
                jobs_of(t.reference).get("fee_payment") == SyncJob.State.SYNCED
                for t in (kept, returned)
            )
            and settled()
        ),
        timeout=180,
    )

    first = night(today)
    assert (first.trigger, first.status, first.as_of) == ("beat", "succeeded", today), first.errors
    assert first.counts["partner_reports"] == 1
    assert first.counts["matched"]["exact_id"] == 2  # both payouts on the partner's report
    assert first.counts["exceptions"] == 0, first.counts
    assert open_mismatches() == {}

    # Day 2. A Xero user deletes a fee: removes its payment, voids its invoice (Xero's webhook
    # tells us).
    paid = SyncJob.objects.get(object_id=kept.reference, action="fee_payment")
    invoice = SyncJob.objects.get(object_id=kept.reference, action="fee_invoice")
    control(books.tenant_id, {}, f"/objects/payment/{paid.external_id}", method="DELETE")
    control(books.tenant_id, {}, f"/objects/invoice/{invoice.external_id}", method="DELETE")
    wait_for(
        lambda: SyncMismatch.objects.filter(
            object_id=kept.reference, kind=SyncMismatch.Kind.EXTERNAL_DELETED
        ).exists(),
        timeout=60,
    )
    # The partner returns the other payout; its notification is lost, its report says so.
    SandboxPayout.objects.filter(client_reference=returned.reference).update(status="returned")
    # The bank's statement: a charge we never booked.
    folder = inbox / bank.account_number
    folder.mkdir(parents=True)
    (folder / "statement.csv").write_text(
        f"Date,Amount,Ref,Text\n{today.isoformat()},-25.00,CHG-1,account charge\n"
    )

    second = night(today)
    assert second.status == "succeeded", second.errors
    assert second.counts["import"] == {"imported": 1, "duplicate": 0, "refused": 0}
    assert second.counts["partner_reports"] == 1  # the day's report again: a revision
    assert (folder / "done" / "statement.csv").exists()
    return_line = StatementLine.objects.get(end_to_end_id=f"RETURN-{returned.reference}")
    charge = StatementLine.objects.get(bank_reference="CHG-1")
    fee = SyncMismatch.objects.get(object_id=kept.reference)
    assert open_mismatches() == {
        "accounting_fee": [f"syncmismatch:{fee.pk}"],
        "statement_line_unmatched": sorted([f"line:{return_line.pk}", f"line:{charge.pk}"]),
    }
    assert second.counts["mismatches"]["opened"] == 3

    # Operators work them to zero.
    ops, approver = Actor.system("finance-ops"), Actor.system("finance-lead")
    refunded = transfer_refund(actor=ops, transfer_id=returned.pk, reason="returned by the bank")
    assert refunded.state == Transfer.State.REFUNDED
    unpaid = Posting.objects.get(
        entry__idempotency_key__startswith=f"transfer:{returned.reference}:refund:unpay",
        account__code=partner.ledger_account_code,
    )
    by_key = {m.key: m for m in Mismatch.objects.filter(state="open")}
    mismatch_resolve_by_match(
        actor=ops, mismatch_id=by_key[f"line:{return_line.pk}"].pk, line_ids=[return_line.pk],
        posting_ids=[unpaid.pk], note="the partner's return, refunded to the payer",
    )  # fmt: skip
    stray = by_key[f"line:{charge.pk}"].pk
    assert mismatch_write_off(actor=ops, mismatch_id=stray, reason="bank charge") is False
    mismatch_write_off_approve(actor=approver, mismatch_id=stray)  # above the threshold
    mismatch_resolve_note(
        actor=ops, mismatch_id=by_key[f"syncmismatch:{fee.pk}"].pk,
        note="invoice voided by our accountant on purpose; re-issued by hand",
    )  # fmt: skip
    assert open_mismatches() == {}
    assert Mismatch.objects.count() == 3  # nothing deleted

    replay = reconciliation_run(as_of=today, replay=True)
    assert replay.counts["checks"] == second.counts["checks"]
    assert replay.counts["exceptions"] == second.counts["exceptions"] == 3
