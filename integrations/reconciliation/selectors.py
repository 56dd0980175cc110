"""Reads for reconciliation. The ledger's tables are read with SQL here (integrations may
read the ledger, never write it; `ledger.models` is the ledger's own import)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection

from integrations.reconciliation.models import BankAccount

_SIGNED = """CASE WHEN a.type IN ('asset', 'expense') THEN p.debit_minor - p.credit_minor
                 ELSE p.credit_minor - p.debit_minor END"""


def postings_signed(*, bank_account_id: int, posting_ids: list[int]) -> dict[int, int]:
    """{posting id: amount signed like a statement} for postings on the bank account's
    mirrored ledger account; others are left out."""
    account = BankAccount.objects.get(pk=bank_account_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT p.id, {_SIGNED} FROM ledger_posting p
                JOIN ledger_account a ON a.id = p.account_id
                WHERE p.id = ANY(%s) AND a.code = %s""",  # noqa: S608 (fixed fragment)
            [list(posting_ids), account.ledger_account_code],
        )
        return {int(pid): int(amount) for pid, amount in cursor.fetchall()}


@dataclass(frozen=True)
class LedgerRecord:
    posting_id: int
    entry_id: int
    amount_minor: int
    currency: str
    day: date
    memo: str
    idempotency_key: str


def ledger_records_unmatched(
    *, bank_account: BankAccount, amount_minor: int | None = None, limit: int = 50
) -> list[LedgerRecord]:
    """Postings on the mirrored account in no live match (candidates for a line: same
    amount first when `amount_minor` is given, then newest)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT p.id, p.entry_id, {_SIGNED} AS amount, p.currency,
                       (e.effective_at AT TIME ZONE 'UTC')::date, e.memo, e.idempotency_key
                FROM ledger_posting p
                JOIN ledger_account a ON a.id = p.account_id
                JOIN ledger_journalentry e ON e.id = p.entry_id
                WHERE a.code = %s AND NOT EXISTS (
                    SELECT 1 FROM integrations_reconmatchitem i
                    WHERE i.posting_id = p.id AND i.active)
                ORDER BY ({_SIGNED}) = %s DESC, e.effective_at DESC, p.id DESC
                LIMIT %s""",  # noqa: S608 (fixed fragment)
            [bank_account.ledger_account_code, amount_minor, limit],
        )
        return [LedgerRecord(*row) for row in cursor.fetchall()]


def ledger_balance_on(*, code: str, day: date) -> int | None:
    """The account's balance (signed like a statement) at the end of `day` (UTC), from its
    postings; None when the account does not exist."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT a.id, coalesce(sum({_SIGNED}), 0) FROM ledger_account a
                LEFT JOIN ledger_posting p ON p.account_id = a.id AND EXISTS (
                    SELECT 1 FROM ledger_journalentry e WHERE e.id = p.entry_id
                    AND (e.effective_at AT TIME ZONE 'UTC')::date <= %s)
                WHERE a.code = %s GROUP BY a.id""",  # noqa: S608 (fixed fragment)
            [day, code],
        )
        row = cursor.fetchone()
        return None if row is None else int(row[1])
