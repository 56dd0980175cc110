"""Ledger reads. Balances are on the account's normal side (see `ledger.services`):
debit-normal for asset and expense accounts, credit-normal for liability, revenue and equity.

`account_balance` and `account_available_balance` read the materialised row (one primary-key
lookup, constant in the number of postings); `account_balance_as_of` and
`account_statement` sum postings by effective time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count, Q, Sum

from ledger.errors import UnknownAccount
from ledger.models import DEBIT_NORMAL_TYPES, Account, AccountBalance, Hold, JournalEntry, Posting


@dataclass(frozen=True, slots=True)
class AccountSummary:
    id: int
    code: str
    name: str
    type: str
    currency: str
    owner: str
    status: str
    posted_minor: int
    held_minor: int
    available_minor: int


@dataclass(frozen=True, slots=True)
class StatementLine:
    posting_id: int
    entry_id: int
    effective_at: datetime
    memo: str
    debit_minor: int
    credit_minor: int
    amount_minor: int  # signed on the account's normal side
    running_minor: int


@dataclass(frozen=True, slots=True)
class Statement:
    account: AccountSummary
    start: datetime | None
    end: datetime | None
    opening_minor: int
    closing_minor: int
    lines: list[StatementLine]


def _balance_row(account_id: int) -> AccountBalance:
    row = AccountBalance.objects.filter(account_id=account_id).first()
    if row is None:
        raise UnknownAccount(f"no ledger account {account_id}", account_id=account_id)
    return row


def account_balance(*, account_id: int) -> int:
    """Posted balance in minor units, on the account's normal side."""
    return _balance_row(account_id).posted_minor


def account_available_balance(*, account_id: int) -> int:
    """Posted balance minus active holds."""
    return _balance_row(account_id).available_minor


def _summary(account: Account, balance: AccountBalance) -> AccountSummary:
    return AccountSummary(
        id=account.pk,
        code=account.code,
        name=account.name,
        type=account.type,
        currency=account.currency,
        owner=account.owner,
        status=account.status,
        posted_minor=balance.posted_minor,
        held_minor=balance.held_minor,
        available_minor=balance.available_minor,
    )


def account_summary(*, account_id: int) -> AccountSummary:
    account = Account.objects.select_related("balance").filter(pk=account_id).first()
    if account is None:
        raise UnknownAccount(f"no ledger account {account_id}", account_id=account_id)
    return _summary(account, account.balance)


def accounts_for_owner(*, owner: str) -> list[AccountSummary]:
    """Every account of an owner (e.g. "profile:42"), with balances, by code."""
    accounts = Account.objects.filter(owner=owner).select_related("balance").order_by("code")
    return [_summary(a, a.balance) for a in accounts]


def wallet_balances(*, owner: str) -> dict[str, AccountSummary]:
    """An owner's wallets keyed by currency (see `ledger.chart.wallet_account`)."""
    from ledger.chart import WALLET_PREFIX

    return {
        s.currency: s
        for s in accounts_for_owner(owner=owner)
        if s.code.startswith(WALLET_PREFIX) and s.type == "liability"
    }


def _signed_sum(account: Account, postings_filter: Q) -> int:
    totals = Posting.objects.filter(postings_filter, account_id=account.pk).aggregate(
        d=Sum("debit_minor"), c=Sum("credit_minor")
    )
    d, c = totals["d"] or 0, totals["c"] or 0
    return d - c if account.type in DEBIT_NORMAL_TYPES else c - d


def _account(account_id: int) -> Account:
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise UnknownAccount(f"no ledger account {account_id}", account_id=account_id)
    return account


def account_balance_as_of(*, account_id: int, at: datetime) -> int:
    """Balance from the postings of entries effective at or before `at`."""
    return _signed_sum(_account(account_id), Q(entry__effective_at__lte=at))


def account_statement(
    *, account_id: int, start: datetime | None = None, end: datetime | None = None
) -> Statement:
    """Postings effective in [start, end) with a running balance from the opening balance."""
    account = _account(account_id)
    opening = _signed_sum(account, Q(entry__effective_at__lt=start)) if start else 0
    window = Q()
    if start is not None:
        window &= Q(entry__effective_at__gte=start)
    if end is not None:
        window &= Q(entry__effective_at__lt=end)
    rows = (
        Posting.objects.filter(window, account_id=account_id)
        .order_by("entry__effective_at", "entry_id", "id")
        .values_list(
            "id", "entry_id", "entry__effective_at", "entry__memo", "debit_minor", "credit_minor"
        )
    )
    debit_normal = account.type in DEBIT_NORMAL_TYPES
    running = opening
    lines = []
    for posting_id, entry_id, effective_at, memo, debit, credit in rows:
        amount = debit - credit if debit_normal else credit - debit
        running += amount
        lines.append(
            StatementLine(posting_id, entry_id, effective_at, memo, debit, credit, amount, running)
        )
    balance = _balance_row(account_id)
    return Statement(
        account=_summary(account, balance),
        start=start,
        end=end,
        opening_minor=opening,
        closing_minor=running,
        lines=lines,
    )


def entry_postings(*, entry_id: int) -> list[tuple[str, str, int, int]]:
    """(account code, currency, debit_minor, credit_minor) of an entry, in posting order."""
    return list(
        Posting.objects.filter(entry_id=entry_id)
        .order_by("id")
        .values_list("account__code", "currency", "debit_minor", "credit_minor")
    )


def entry_by_idempotency_key(*, idempotency_key: str) -> JournalEntry | None:
    return JournalEntry.objects.filter(idempotency_key=idempotency_key).first()


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class VerifyReport:
    entries: int
    postings: int
    accounts: int
    active_holds: int
    discrepancies: list[str]

    @property
    def ok(self) -> bool:
        return not self.discrepancies


def ledger_verify_report() -> VerifyReport:
    """Recompute everything from the postings and name every difference from what is stored."""
    problems: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.id, p.currency, coalesce(sum(p.debit_minor), 0),"
            " coalesce(sum(p.credit_minor), 0), count(p.id)"
            " FROM ledger_journalentry e LEFT JOIN ledger_posting p ON p.entry_id = e.id"
            " GROUP BY e.id, p.currency"
            " HAVING coalesce(sum(p.debit_minor), 0) <> coalesce(sum(p.credit_minor), 0)"
            " OR count(p.id) = 0 ORDER BY e.id"
        )
        for entry_id, currency, debits, credits, n in cursor.fetchall():
            if n == 0:
                problems.append(f"entry {entry_id}: has no postings")
            else:
                problems.append(
                    f"entry {entry_id}: unbalanced in {currency}: debits {debits} "
                    f"<> credits {credits}"
                )
        cursor.execute(
            "SELECT entry_id, count(*) FROM ledger_posting GROUP BY entry_id"
            " HAVING count(*) < 2 ORDER BY entry_id"
        )
        for entry_id, n in cursor.fetchall():
            problems.append(f"entry {entry_id}: has {n} posting; at least two are required")
        cursor.execute(
            "SELECT p.id, p.entry_id, a.code, p.currency, a.currency FROM ledger_posting p"
            " JOIN ledger_account a ON a.id = p.account_id WHERE p.currency <> a.currency"
        )
        for posting_id, entry_id, code, currency, account_currency in cursor.fetchall():
            problems.append(
                f"posting {posting_id} (entry {entry_id}): {currency} on account {code} "
                f"in {account_currency}"
            )
        cursor.execute(
            "SELECT a.id, a.code, b.debits_minor, b.credits_minor, b.held_minor,"
            " coalesce(s.d, 0), coalesce(s.c, 0), coalesce(h.held, 0),"
            " b.account_id IS NULL, b.debit_normal, b.allow_negative"
            " FROM ledger_account a"
            " LEFT JOIN ledger_accountbalance b ON b.account_id = a.id"
            " LEFT JOIN (SELECT account_id, sum(debit_minor) d, sum(credit_minor) c"
            "   FROM ledger_posting GROUP BY account_id) s ON s.account_id = a.id"
            " LEFT JOIN (SELECT account_id, sum(amount_minor) held FROM ledger_hold"
            "   WHERE status = 'active' GROUP BY account_id) h ON h.account_id = a.id"
            " ORDER BY a.id"
        )
        accounts = 0
        for row in cursor.fetchall():
            accounts += 1
            (_id, code, debits, credits, held, sum_d, sum_c, sum_held, missing, dn, neg) = row
            if missing:
                problems.append(f"account {code}: has no balance row")
                continue
            if (debits, credits) != (sum_d, sum_c):
                problems.append(
                    f"account {code}: stored debits/credits {debits}/{credits} "
                    f"<> postings {sum_d}/{sum_c}"
                )
            if held != sum_held:
                problems.append(f"account {code}: stored held {held} <> active holds {sum_held}")
            posted = sum_d - sum_c if dn else sum_c - sum_d
            if not neg and posted - sum_held < 0:
                problems.append(f"account {code}: no-negative account is at {posted - sum_held}")
    counts = JournalEntry.objects.aggregate(n=Count("id"))
    return VerifyReport(
        entries=counts["n"],
        postings=Posting.objects.count(),
        accounts=accounts,
        active_holds=Hold.objects.filter(status=Hold.Status.ACTIVE).count(),
        discrepancies=problems,
    )
