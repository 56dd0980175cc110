"""The workbench in the admin, as finance uses it: unmatched lines beside candidate ledger
records and a one-click match, the mismatch queue with bulk actions (write-off with a second
operator), suggested fundings, runs, closed periods' reports. Engineering sees runs only.

People: fiona and frank (finance), eddie (engineering)."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from fintech.core.services import Actor
from integrations.reconciliation.models import Mismatch, ReconMatchItem
from integrations.reconciliation.period_close import period_close
from integrations.reconciliation.runs import reconciliation_run
from tests.builders import build_user
from tests.reconciliation.recon_builders import bank_account, ledger_record, statement

pytestmark = pytest.mark.django_db
D = date(2026, 11, 2)


def staff(username: str, role: str) -> Client:
    user = build_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def test_finance_matches_an_unmatched_line_in_one_click():
    account = bank_account()
    posting = ledger_record(account, 4200, day=D, key="wallet-funding:sandbox-bank:W-1")
    line = statement(
        account, [{"amount_minor": 4200, "day": D, "remittance_info": "?"}]
    ).lines.get()
    fiona = staff("fiona", "finance")

    unmatched = fiona.get(reverse("admin:integrations_statementline_changelist") + "?matched=no")
    assert unmatched.status_code == 200
    assert reverse("admin:integrations_statementline_match", args=[line.pk]) in unmatched.text
    page = fiona.get(reverse("admin:integrations_statementline_match", args=[line.pk]))
    assert page.status_code == 200
    assert f'value="{posting}"' in page.text  # the candidate, same amount first
    done = fiona.post(
        reverse("admin:integrations_statementline_match", args=[line.pk]),
        {"posting_ids": [posting], "note": "same payer"},
    )
    assert done.status_code == 302
    assert ReconMatchItem.objects.filter(statement_line=line, active=True).exists()


def test_the_mismatch_queue_writes_off_with_a_second_operator(settings):
    settings.RECONCILIATION_WRITE_OFF_THRESHOLD_MINOR = 100
    account = bank_account()
    statement(account, [{"amount_minor": 5000, "day": D, "remittance_info": "stray"}])
    reconciliation_run(as_of=date(2026, 11, 10))
    m = Mismatch.objects.get()
    fiona, frank = staff("fiona", "finance"), staff("frank", "finance")
    url = reverse("admin:integrations_mismatch_changelist")

    queue = fiona.get(url + "?state__exact=open&check_name=statement_line_unmatched")
    assert queue.status_code == 200
    assert "50.00 GBP" in queue.text
    fiona.post(url, {"action": "write_off", "_selected_action": [m.pk], "confirm": "yes",
                     "reason": "unknown sender, returned by the bank"})  # fmt: skip
    assert Mismatch.objects.get(pk=m.pk).state == "open"  # asked, not done
    fiona.post(url, {"action": "approve_write_off", "_selected_action": [m.pk]})
    assert Mismatch.objects.get(pk=m.pk).state == "open"  # the maker cannot approve
    frank.post(url, {"action": "approve_write_off", "_selected_action": [m.pk]})
    assert Mismatch.objects.get(pk=m.pk).state == "written_off"

    runs = fiona.get(reverse("admin:integrations_reconrun_changelist"))
    assert runs.status_code == 200
    closed = period_close(actor=Actor.system("t"),
                          start=date(2026, 11, 1), end=date(2026, 11, 30))  # fmt: skip
    pdf = fiona.get(reverse("admin:integrations_periodclose_report", args=[closed.pk, "pdf"]))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_engineering_sees_runs_not_the_queue():
    eddie = staff("eddie", "engineering")
    assert eddie.get(reverse("admin:integrations_reconrun_changelist")).status_code == 200
    assert eddie.get(reverse("admin:integrations_mismatch_changelist")).status_code == 403
    assert eddie.get(reverse("admin:integrations_suggestedfunding_changelist")).status_code == 403


def test_finance_sees_the_one_to_one_matches_the_matcher_wrote_as_one_row():
    from integrations.reconciliation.matching import statement_lines_match

    account = bank_account()
    ledger_record(account, 700, day=D, key="wallet-funding:sandbox-bank:ONE-1")
    line = statement(account, [{"amount_minor": 700, "day": D, "end_to_end_id": "ONE-1"}])
    statement_lines_match(bank_account_id=account.pk, actor_label="system:test")
    item = ReconMatchItem.objects.get(statement_line=line.lines.get())
    fiona = staff("fiona", "finance")

    listed = fiona.get(reverse("admin:integrations_reconmatchitem_changelist") + "?shape=one")
    assert listed.status_code == 200
    assert reverse("admin:integrations_reconmatchitem_change", args=[item.pk]) in listed.text
    change = fiona.get(reverse("admin:integrations_reconmatchitem_change", args=[item.pk]))
    assert change.status_code == 200
    page = fiona.get(reverse("admin:integrations_statementline_match", args=[line.lines.get().pk]))
    assert f"(match {item.pk}, one-to-one)" in page.text
