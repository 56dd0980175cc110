"""Builders for reconciliation tests: ledger records go through the ledger's services;
statements are our own tables (as the importer writes them)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from typing import Any

from integrations.reconciliation.models import BankAccount, BankStatement, StatementLine
from ledger import chart
from ledger.services import PostingSpec, entry_post

_seq = itertools.count(1)


def bank_account(
    *, currency: str = "GBP", code: str | None = None, number: str | None = None
) -> BankAccount:
    return BankAccount.objects.create(
        name=f"Bank {currency}",
        account_number=number or f"GB{next(_seq):020d}",
        currency=currency,
        ledger_account_code=code or f"funding:sandbox-bank:{currency}",
    )


def ledger_record(
    account: BankAccount,
    amount_minor: int,
    *,
    day: date,
    key: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> int:
    """A posting on the bank account's mirrored ledger account (signed like a statement:
    + money in), against the FX position account; returns the posting id."""
    partner_code = account.ledger_account_code
    kind, partner, currency = partner_code.split(":")
    opener = chart.funding_partner_account if kind == "funding" else chart.payout_partner_account
    ours = opener(partner=partner, currency=currency)
    other = chart.fx_position_account(currency=currency)
    legs = (
        [PostingSpec.debit(ours.pk, amount_minor, currency),
         PostingSpec.credit(other.pk, amount_minor, currency)]
        if amount_minor > 0
        else [PostingSpec.credit(ours.pk, -amount_minor, currency),
              PostingSpec.debit(other.pk, -amount_minor, currency)]
    )  # fmt: skip
    entry = entry_post(
        idempotency_key=key or f"test-record:{next(_seq)}",
        postings=legs,
        memo="test record",
        effective_at=datetime.combine(day, time(12), tzinfo=UTC),
        metadata=metadata or {},
    )
    return int(entry.postings.get(account_id=ours.pk).pk)


def statement(
    account: BankAccount, lines: list[dict[str, Any]], *, statement_id: str | None = None
) -> BankStatement:
    """A statement with `lines` (dicts: amount_minor, day, and any StatementLine field)."""
    st = BankStatement.objects.create(
        bank_account=account,
        format="csv",
        statement_id=statement_id or f"ST-{next(_seq)}",
        checksum=f"{next(_seq):064d}",
        file_name="test.csv",
        imported_by="test",
    )
    rows = []
    for position, spec in enumerate(lines):
        spec = dict(spec)
        amount = spec.pop("amount_minor")
        day = spec.pop("day")
        rows.append(
            StatementLine(
                statement=st,
                position=position,
                value_date=day,
                booking_date=day,
                amount_minor=amount,
                direction="credit" if amount >= 0 else "debit",
                currency=spec.pop("currency", account.currency),
                **spec,
            )
        )
    StatementLine.objects.bulk_create(rows)
    return st
