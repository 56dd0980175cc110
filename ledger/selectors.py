"""Ledger reads. Balances are on the account's normal side (see `ledger.services`):
debit-normal for asset and expense accounts, credit-normal for liability, revenue and equity.

`account_balance` and `account_available_balance` read the materialised row (one primary-key
lookup, constant in the number of postings); `account_balance_as_of` and
`account_statement` sum postings by effective time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Min, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

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


def entry_reversed_by(*, entry_id: int) -> int | None:
    """The id of the entry that reverses `entry_id`, if one does (at most one can)."""
    return JournalEntry.objects.filter(reverses_id=entry_id).values_list("pk", flat=True).first()


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


# --------------------------------------------------------------------------- entries as facts


@dataclass(frozen=True, slots=True)
class PostingView:
    account_code: str
    currency: str
    debit_minor: int
    credit_minor: int


@dataclass(frozen=True, slots=True)
class EntryView:
    """An entry and its postings as plain values, for readers outside the ledger."""

    id: int
    idempotency_key: str
    effective_at: datetime
    reverses_id: int | None
    metadata: dict[str, Any]
    postings: tuple[PostingView, ...]

    def net_credit(self, *, code_prefix: str) -> int:
        """Credits minus debits on the accounts whose code starts with `code_prefix`."""
        return sum(
            p.credit_minor - p.debit_minor
            for p in self.postings
            if p.account_code.startswith(code_prefix)
        )


def _entry_views(entries: QuerySet[JournalEntry]) -> list[EntryView]:
    postings = Prefetch(
        "postings", queryset=Posting.objects.select_related("account").order_by("id")
    )
    return [
        EntryView(
            id=e.pk,
            idempotency_key=e.idempotency_key,
            effective_at=e.effective_at,
            reverses_id=e.reverses_id,
            metadata=dict(e.metadata or {}),
            postings=tuple(
                PostingView(p.account.code, p.currency, p.debit_minor, p.credit_minor)
                for p in e.postings.all()
            ),
        )
        for e in entries.prefetch_related(postings).order_by("effective_at", "id")
    ]


def entry_view(*, entry_id: int) -> EntryView | None:
    """One entry with its postings (two queries), or None."""
    found = _entry_views(JournalEntry.objects.filter(pk=entry_id))
    return found[0] if found else None


def entries_by_idempotency_keys(*, idempotency_keys: Iterable[str]) -> list[EntryView]:
    """The entries with these keys (those that exist), oldest first, with their postings."""
    return _entry_views(JournalEntry.objects.filter(idempotency_key__in=list(idempotency_keys)))


# --------------------------------------------------------------------------- daily totals


@dataclass(frozen=True, slots=True)
class DayTotals:
    """One UTC day's postings in one currency, summed per group of accounts."""

    day: date
    currency: str
    entry_count: int  # distinct entries with a posting in this currency that day
    groups: tuple[tuple[str, int, int], ...]  # (group, debit_minor, credit_minor) by group


_DAILY_TOTALS_SQL = """
WITH grouped_accounts AS (
    SELECT a.id, CASE {cases} ELSE '' END AS grp FROM ledger_account a
), moves AS (
    SELECT (e.effective_at AT TIME ZONE 'UTC')::date AS day, p.currency, g.grp,
           p.debit_minor, p.credit_minor, p.entry_id
    FROM ledger_posting p
    JOIN ledger_journalentry e ON e.id = p.entry_id
    JOIN grouped_accounts g ON g.id = p.account_id
    WHERE e.effective_at >= %s AND e.effective_at < %s
)
SELECT day, currency, grp, GROUPING(grp) AS is_total,
       sum(debit_minor), sum(credit_minor), count(DISTINCT entry_id)
FROM moves
GROUP BY GROUPING SETS ((day, currency, grp), (day, currency))
ORDER BY day, currency, GROUPING(grp) DESC, grp
"""


def daily_totals(
    *,
    start: date,
    end: date,
    groups: Sequence[tuple[str, str]],
    chunk_size: int = 2000,
) -> Iterator[DayTotals]:
    """Postings of entries effective on UTC days start..end (both included), summed per
    (day, currency, group), where `groups` is (account code prefix, group name), first match
    wins; an account no prefix matches is in group "".

    One set-based query (the per-day entry count comes from a second grouping set of the same
    GROUP BY), read through a server-side cursor `chunk_size` rows at a time, so a year of
    entries streams in constant memory. Days in a currency without postings are not yielded.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    cases = " ".join("WHEN starts_with(a.code, %s) THEN %s" for _ in groups)
    params: list[Any] = [value for prefix, name in groups for value in (prefix, name)]
    utc = UTC
    params += [
        datetime.combine(start, time.min, tzinfo=utc),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=utc),
    ]
    sql = _DAILY_TOTALS_SQL.format(cases=cases or "WHEN false THEN ''")
    # A named (server-side) cursor, as QuerySet.iterator() uses, unless the deployment turned
    # them off (a transaction-pooling pgbouncer): then rows still arrive in chunks, client-side.
    server_side = not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    with connection.chunked_cursor() if server_side else connection.cursor() as cursor:
        cursor.execute(sql, params)
        current: tuple[date, str] | None = None
        count = 0
        lines: list[tuple[str, int, int]] = []
        while rows := cursor.fetchmany(chunk_size):
            for day, currency, grp, is_total, debits, credits, entries in rows:
                if is_total:
                    if current is not None:
                        yield DayTotals(current[0], current[1], count, tuple(lines))
                    current, count, lines = (day, currency), int(entries), []
                else:
                    lines.append((grp, int(debits), int(credits)))
        if current is not None:
            yield DayTotals(current[0], current[1], count, tuple(lines))


def entry_ids_on_day(*, day: date, currency: str) -> QuerySet[JournalEntry, int]:
    """Ids of the entries effective on a UTC day with a posting in `currency` (the drill-down
    behind a `daily_totals` row), ascending."""
    utc = UTC
    start = datetime.combine(day, time.min, tzinfo=utc)
    return (
        JournalEntry.objects.filter(
            effective_at__gte=start,
            effective_at__lt=start + timedelta(days=1),
            postings__currency=currency,
        )
        .order_by("id")
        .values_list("id", flat=True)
        .distinct()
    )


def first_entry_day() -> date | None:
    """The UTC day of the earliest entry (where a backfill of daily totals starts)."""
    first = JournalEntry.objects.order_by("effective_at").values_list("effective_at", flat=True)
    at = first.first()
    return at.astimezone(UTC).date() if at else None


# --------------------------------------------------------------------------- revenue


@dataclass(frozen=True, slots=True)
class RevenueDay:
    """Net revenue (credits minus debits: a reversal takes it back) booked on one UTC day to
    one revenue account."""

    day: date
    account_id: int
    code: str  # revenue:fees:<CCY> or revenue:fx-margin:<CCY>
    currency: str
    net_minor: int


REVENUE_CODE_PREFIX = "revenue:"


def revenue_by_day(*, since: datetime, until: datetime) -> list[RevenueDay]:
    """Revenue postings of entries effective in [since, until), summed per (UTC day, account).

    Two aggregate queries; rows returned are days x revenue accounts, whatever the volume.
    First the smallest id of the window's entries (effective_at index). No entry of the window
    has a smaller id, so the postings are looked for only from that id up, in the posting
    (account, entry) index of the handful of revenue accounts (two per currency): without
    that bound PostgreSQL joins every posting of the ledger with the window's entries
    (the slowest of the dashboard's queries in bench/dashboard.py). Backdated entries (a later id,
    an earlier effective_at) are still filtered out by their effective_at."""
    window = JournalEntry.objects.filter(effective_at__gte=since, effective_at__lt=until)
    first_id = window.aggregate(first=Min("id"))["first"]
    if first_id is None:
        return []
    rows = (
        Posting.objects.filter(
            account__code__startswith=REVENUE_CODE_PREFIX,
            entry_id__gte=first_id,
            entry__effective_at__gte=since,
            entry__effective_at__lt=until,
        )
        .annotate(day=TruncDate("entry__effective_at", tzinfo=UTC))
        .values("day", "account_id", "account__code", "currency")
        .annotate(credits=Sum("credit_minor"), debits=Sum("debit_minor"))
        .order_by("day", "account__code")
    )
    return [
        RevenueDay(
            day=row["day"],
            account_id=row["account_id"],
            code=row["account__code"],
            currency=row["currency"],
            net_minor=int(row["credits"] or 0) - int(row["debits"] or 0),
        )
        for row in rows
    ]
