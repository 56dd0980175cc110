"""Provider reports: a payout partner's settlement report pulled over its API and stored
through `statement_import` (format `partner`), so it is kept once, refused with reasons,
and matched like any statement.

Each payout connector registers how to fetch its report (`register_report_source`, from its
`register()`), so reconciliation imports no connector. A bank account mirrors a partner
when its ledger account is `payout:<partner>:<CCY>`; the sandbox partner's report names the
account `SANDBOX-PAYOUT-<CCY>`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from fintech.core.services import Actor
from integrations.reconciliation.models import BankAccount
from integrations.reconciliation.services import ImportResult, statement_import

ReportFetch = Callable[..., dict[str, Any]]  # (*, day: str, currency: str) -> report
REPORT_SOURCES: dict[str, ReportFetch] = {}


def register_report_source(partner: str, fetch: ReportFetch) -> None:
    REPORT_SOURCES[partner] = fetch


def _partner(account: BankAccount) -> str:
    kind, _, rest = account.ledger_account_code.partition(":")
    return rest.rsplit(":", 1)[0] if kind == "payout" else ""


def partner_accounts() -> list[BankAccount]:
    accounts = BankAccount.objects.filter(ledger_account_code__startswith="payout:")
    return [a for a in accounts.order_by("pk") if _partner(a) in REPORT_SOURCES]


def partner_report_pull(*, actor: Actor, bank_account_id: int, day: date) -> ImportResult:
    """Fetch the day's report for the account's currency and import it (a second pull of an
    unchanged report is a duplicate, a no-op)."""
    account = BankAccount.objects.get(pk=bank_account_id)
    fetch = REPORT_SOURCES[_partner(account)]
    report = fetch(day=day.isoformat(), currency=account.currency)
    return statement_import(
        actor=actor,
        bank_account_id=account.pk,
        filename=f"settlement-{account.currency}-{day.isoformat()}.json",
        content=json.dumps(report, sort_keys=True).encode(),
        format="partner",
    )
