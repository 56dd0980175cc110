"""The payout partner's settlement report over real HTTP (the sandbox on our live server),
normalised into statement lines, stored once, matched against the ledger's payouts."""

from __future__ import annotations

import json
from datetime import date

import pytest
import requests

from fintech.core.errors import ValidationFailed
from fintech.core.services import Actor
from integrations.models import SandboxPayout
from integrations.reconciliation.matching import statement_lines_match
from integrations.reconciliation.models import BankStatement, StatementLine
from integrations.reconciliation.parsers.partner_report import parse_partner_report
from integrations.reconciliation.provider_reports import partner_report_pull
from integrations.reconciliation.runs import reconciliation_run
from tests.reconciliation.recon_builders import bank_account, ledger_record

D = date(2026, 11, 2)
OPS = Actor.system("test")


@pytest.fixture
def partner(live_server, settings) -> str:
    settings.PAYOUT_SANDBOX_BASE_URL = f"{live_server.url}/sandbox/payout-partner"
    return settings.PAYOUT_SANDBOX_BASE_URL


def payout(reference: str, amount: str, status: str) -> SandboxPayout:
    p = SandboxPayout.objects.create(
        id=f"po_{reference}", client_reference=reference, amount=amount, currency="GBP",
        callback_url="http://127.0.0.1:9/webhooks/payout-sandbox/", status=status,
        plan=["accepted", status],
    )  # fmt: skip
    at = f"{D}T10:00:00+00:00"
    SandboxPayout.objects.filter(pk=p.pk).update(created_at=at, updated_at=at)
    return p


@pytest.mark.django_db(transaction=True)
def test_the_report_is_pulled_stored_once_and_matched(partner, settings):
    account = bank_account(code="payout:sandbox-payout:GBP", number="SANDBOX-PAYOUT-GBP")
    payout("T-1", "10.00", "sent")
    payout("T-2", "20.50", "returned")
    payout("T-3", "5.00", "failed")
    ledger_record(account, -1000, day=D, key="transfer:T-1:complete")
    ledger_record(account, -2050, day=D, key="transfer:T-2:complete")

    first = partner_report_pull(actor=OPS, bank_account_id=account.pk, day=D)
    again = partner_report_pull(actor=OPS, bank_account_id=account.pk, day=D)

    (statement,) = first.statements
    assert statement.format == BankStatement.Format.PARTNER
    assert again.duplicate
    lines = list(statement.lines.order_by("position").values_list("amount_minor", "end_to_end_id"))
    assert lines == [(-1000, "T-1"), (-2050, "T-2"), (2050, "RETURN-T-2")]
    result = statement_lines_match(bank_account_id=account.pk, actor_label="system:test")
    assert result.matched["exact_id"] == 2
    assert result.lines_left == 1  # the money back from the returned payout

    run = reconciliation_run(as_of=date(2026, 11, 10))
    assert run.counts["partner_reports"] == 1, run.errors  # Nov 10: a report, no payouts
    assert run.counts["checks"]["statement_line_unmatched"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_day_reported_again_with_changes_adds_only_its_new_lines(partner):
    """The partner returns a payout after we pulled the day: the day's report pulled again is
    a revision with the money back only; the first pull's lines keep their matches. A line
    the partner no longer reports is flagged, never deleted."""
    account = bank_account(code="payout:sandbox-payout:GBP", number="SANDBOX-PAYOUT-GBP")
    payout("T-1", "10.00", "sent")
    payout("T-2", "20.00", "sent")
    ledger_record(account, -1000, day=D, key="transfer:T-1:complete")
    first = partner_report_pull(actor=OPS, bank_account_id=account.pk, day=D)
    assert (
        statement_lines_match(bank_account_id=account.pk, actor_label="t").matched["exact_id"] == 1
    )

    SandboxPayout.objects.filter(pk="po_T-1").update(status="returned")
    second = partner_report_pull(actor=OPS, bank_account_id=account.pk, day=D)
    third = partner_report_pull(actor=OPS, bank_account_id=account.pk, day=D)

    (revision,) = second.statements
    assert revision.statement_id == f"{first.statements[0].statement_id}#r2"
    assert list(revision.lines.values_list("amount_minor", "end_to_end_id")) == [
        (1000, "RETURN-T-1")
    ]
    assert (revision.status, third.duplicate) == ("imported", True)
    assert StatementLine.objects.filter(statement__bank_account=account).count() == 3
    assert (
        sum(statement_lines_match(bank_account_id=account.pk, actor_label="t").matched.values())
        == 0
    )

    SandboxPayout.objects.filter(pk="po_T-2").delete()
    (gone,) = partner_report_pull(actor=OPS, bank_account_id=account.pk, day=D).statements
    assert gone.statement_id.endswith("#r3")
    assert gone.lines.count() == 0
    assert gone.status == "flagged"
    assert gone.flags == ["an earlier revision's line is no longer in the report: T-2 -2000 GBP"]


@pytest.mark.django_db(transaction=True)
def test_the_report_as_a_file_and_its_refusals(partner, settings):
    payout("T-9", "1.00", "sent")
    headers = {"Authorization": f"Bearer {settings.PAYOUT_SANDBOX_API_KEY}"}
    csv_file = requests.get(f"{partner}/settlement-report?date={D}&currency=GBP&format=csv",
                            headers=headers, timeout=10)  # fmt: skip
    assert csv_file.status_code == 200
    assert csv_file.text.splitlines()[0] == (
        "payout_id,client_reference,status,amount,currency,fee,settled_at"
    )
    assert requests.get(f"{partner}/settlement-report?date=x&currency=GBP", headers=headers,
                        timeout=10).status_code == 422  # fmt: skip
    assert requests.get(f"{partner}/settlement-report?date={D}&currency=GBP",
                        timeout=10).status_code == 401  # fmt: skip


def test_a_bad_report_is_refused_naming_the_field():
    report = {"report": "settlement", "date": "2026-11-02", "currency": "GBP",
              "account": "SANDBOX-PAYOUT-GBP",
              "payouts": [{"payout_id": "po_1", "client_reference": "T-1", "status": "sent",
                           "amount": "1.001", "currency": "GBP", "fee": "0"}]}  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        parse_partner_report(json.dumps(report).encode(), filename="r.json")
    assert refused.value.fields[0].field == "r.json/payouts[0]/amount"
    with pytest.raises(ValidationFailed):
        parse_partner_report(b"{not json", filename="r.json")
