"""Ledger writes: the only code in the platform that moves money.

Invariants (Python checks them here; PostgreSQL checks them again, see
migrations/0002_database_rules.sql):

1. A journal entry has at least two postings and, within each currency, the sum of its
   debits equals the sum of its credits. One entry may carry several currencies (an FX
   conversion) as long as each balances on its own.
2. Every posting has exactly one side (debit or credit), a positive integer amount in the
   minor unit of its currency, and that currency is its account's. Closed accounts take
   no postings.
3. Entries and postings are append-only. A mistake is corrected by `entry_reverse`, which
   posts the mirror image and points at the original; an entry is reversed at most once
   and a reversal is never reversed.
4. Every entry has a unique idempotency key: posting the same key again returns the first
   entry; the same key with different postings raises `IdempotencyConflict`.
5. `AccountBalance` is updated in the same transaction as the postings and always equals
   their sum (`manage.py ledger_verify` proves it); `held_minor` equals the sum of the
   account's active holds.
6. An account with `allow_negative=False` (customer wallets, transfer clearing) never has
   an available balance (posted - active holds) below zero.

Sign convention: a balance is reported on the account's normal side. Asset and expense
accounts are debit-normal (balance = debits - credits); liability, revenue and equity
accounts are credit-normal (balance = credits - debits). A customer wallet (liability)
with 100.00 GBP in it has balance +10000; our money at a partner bank (asset) too.

Every public function here is atomic, keyword-only and raises only `ledger.errors`
types for bad input, with nothing written.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ledger.currency import validate_currency
from ledger.errors import (
    AccountClosed,
    AccountExists,
    AccountNotEmpty,
    AlreadyReversed,
    CurrencyMismatch,
    HoldAmountExceeded,
    HoldNotActive,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidPosting,
    LedgerError,
    MixedCurrency,
    ReversalOfReversal,
    UnbalancedEntry,
    UnknownAccount,
    UnknownEntry,
    UnknownHold,
    ZeroOrNegativeAmount,
)
from ledger.models import (
    DEBIT_NORMAL_TYPES,
    Account,
    AccountBalance,
    AccountType,
    Hold,
    JournalEntry,
)

# Far above any real amount, far below BIGINT overflow when summed.
MAX_AMOUNT_MINOR = 10**15


@dataclass(frozen=True, slots=True)
class PostingSpec:
    """One leg of an entry to post: exactly one of debit_minor / credit_minor is positive."""

    account_id: int
    currency: str
    debit_minor: int = 0
    credit_minor: int = 0

    @classmethod
    def debit(cls, account_id: int, amount_minor: int, currency: str) -> PostingSpec:
        return cls(account_id=account_id, currency=currency, debit_minor=amount_minor)

    @classmethod
    def credit(cls, account_id: int, amount_minor: int, currency: str) -> PostingSpec:
        return cls(account_id=account_id, currency=currency, credit_minor=amount_minor)

    def key(self) -> tuple[int, str, int, int]:
        return (self.account_id, self.currency, self.debit_minor, self.credit_minor)


# --------------------------------------------------------------------------- accounts


def _check_amount(amount: object, *, what: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ZeroOrNegativeAmount(f"{what} must be an integer in minor units, not {amount!r}")
    if amount <= 0:
        raise ZeroOrNegativeAmount(f"{what} must be positive; got {amount}")
    if amount > MAX_AMOUNT_MINOR:
        raise InvalidPosting(f"{what} {amount} is larger than the ledger accepts")
    return amount


def _check_account_attributes(*, code: str, name: str, type: str, currency: str) -> None:
    if not code or len(code) > 200:
        raise LedgerError("an account code is 1 to 200 characters")
    if not name:
        raise LedgerError("an account needs a name")
    if type not in AccountType.values:
        raise LedgerError(f"account type {type!r} is not one of {', '.join(AccountType.values)}")
    validate_currency(currency)


@transaction.atomic
def account_open(
    *,
    code: str,
    name: str,
    type: str,
    currency: str,
    owner: str = "",
    allow_negative: bool = False,
) -> Account:
    """Open an account and its balance row; `AccountExists` if the code is taken."""
    account = _account_insert(
        code=code,
        name=name,
        type=type,
        currency=currency,
        owner=owner,
        allow_negative=allow_negative,
    )
    if account is None:
        raise AccountExists(f"an account with code {code!r} already exists", code=code)
    return account


def account_get_or_open(
    *,
    code: str,
    name: str,
    type: str,
    currency: str,
    owner: str = "",
    allow_negative: bool = False,
) -> Account:
    """The account with this code, opened if missing. Safe under concurrent callers.

    `AccountExists` if the code exists with another type, currency, owner or flag.
    """
    existing = Account.objects.filter(code=code).first()
    if existing is None:
        with transaction.atomic():
            existing = _account_insert(
                code=code,
                name=name,
                type=type,
                currency=currency,
                owner=owner,
                allow_negative=allow_negative,
            )
            if existing is not None:
                return existing
        # Another transaction opened it between our read and our insert; ON CONFLICT
        # waited for it to commit, so this read sees it.
        existing = Account.objects.get(code=code)
    wanted = (type, currency, owner, allow_negative)
    found = (existing.type, existing.currency, existing.owner, existing.allow_negative)
    if found != wanted:
        raise AccountExists(
            f"account {code!r} exists as {found}, not {wanted}", code=code, account_id=existing.pk
        )
    return existing


def _account_insert(
    *, code: str, name: str, type: str, currency: str, owner: str, allow_negative: bool
) -> Account | None:
    """INSERT ... ON CONFLICT DO NOTHING: None if the code exists (race-safe, no savepoint)."""
    _check_account_attributes(code=code, name=name, type=type, currency=currency)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_account"
            " (code, name, type, currency, owner, status, allow_negative, created_at)"
            " VALUES (%s, %s, %s, %s, %s, 'open', %s, %s)"
            " ON CONFLICT (code) DO NOTHING RETURNING id",
            [code, name, type, currency, owner, allow_negative, now],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    account = Account(
        id=row[0],
        code=code,
        name=name,
        type=type,
        currency=currency,
        owner=owner,
        status=Account.Status.OPEN,
        allow_negative=allow_negative,
        created_at=now,
    )
    AccountBalance.objects.create(
        account=account,
        debit_normal=type in DEBIT_NORMAL_TYPES,
        allow_negative=allow_negative,
        updated_at=now,
    )
    return account


@transaction.atomic
def account_close(*, account_id: int) -> Account:
    """Close an account with a zero balance and no active holds (idempotent)."""
    # Why lock: a concurrent entry_post locks the same rows (FOR NO KEY UPDATE), so a
    # posting either commits before the close (and the balance check sees it) or waits
    # and then finds the account closed.
    account = Account.objects.select_for_update().filter(pk=account_id).first()
    if account is None:
        raise UnknownAccount(f"no ledger account {account_id}", account_id=account_id)
    if account.status == Account.Status.CLOSED:
        return account
    balance = AccountBalance.objects.select_for_update().get(account_id=account_id)
    if balance.posted_minor != 0 or balance.held_minor != 0:
        raise AccountNotEmpty(
            f"account {account.code} has balance {balance.posted_minor} and "
            f"{balance.held_minor} held; only an empty account can be closed",
            account_id=account_id,
        )
    account.status = Account.Status.CLOSED
    account.closed_at = timezone.now()
    account.save(update_fields=["status", "closed_at"])
    return account


# --------------------------------------------------------------------------- entries


@dataclass(slots=True)
class _Locked:
    id: int
    code: str
    currency: str
    status: str
    allow_negative: bool
    debit_normal: bool
    debits: int
    credits: int
    held: int

    @property
    def available(self) -> int:
        posted = self.debits - self.credits if self.debit_normal else self.credits - self.debits
        return posted - self.held


def _lock_accounts(account_ids: Iterable[int]) -> dict[int, _Locked]:
    """Lock the accounts' rows and balance rows, in ascending account id order.

    Why this order: every writer locks balance rows sorted by account id, so two posts
    between the same accounts in opposite directions queue instead of deadlocking. The
    account row is locked too (FOR NO KEY UPDATE, which foreign-key checks do not wait
    for) so that a concurrent `account_close` is seen once we hold the lock.
    """
    ids = sorted(set(account_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id, a.code, a.currency, a.status, a.allow_negative, b.debit_normal,"
            " b.debits_minor, b.credits_minor, b.held_minor"
            " FROM ledger_account a JOIN ledger_accountbalance b ON b.account_id = a.id"
            " WHERE a.id = ANY(%s) ORDER BY a.id FOR NO KEY UPDATE OF a, b",
            [ids],
        )
        return {row[0]: _Locked(*row) for row in cursor.fetchall()}


def _validate_specs(postings: Sequence[PostingSpec]) -> None:
    if len(postings) < 2:
        raise UnbalancedEntry(
            f"an entry needs at least two postings; got {len(postings)}", postings=len(postings)
        )
    debits: dict[str, int] = defaultdict(int)
    credits: dict[str, int] = defaultdict(int)
    for i, spec in enumerate(postings):
        if not isinstance(spec, PostingSpec):
            raise InvalidPosting(f"posting {i} is not a PostingSpec")
        validate_currency(spec.currency)
        if isinstance(spec.account_id, bool) or not isinstance(spec.account_id, int):
            raise UnknownAccount(f"posting {i}: account id {spec.account_id!r} is not an id")
        for side in (spec.debit_minor, spec.credit_minor):
            if isinstance(side, bool) or not isinstance(side, int):
                raise ZeroOrNegativeAmount(f"posting {i}: amounts are integers in minor units")
        if spec.debit_minor and spec.credit_minor:
            raise InvalidPosting(f"posting {i} has both a debit and a credit; use two postings")
        amount = spec.debit_minor or spec.credit_minor
        _check_amount(amount, what=f"posting {i} amount")
        debits[spec.currency] += spec.debit_minor
        credits[spec.currency] += spec.credit_minor
    off = {c: debits[c] - credits[c] for c in sorted(debits) if debits[c] != credits[c]}
    if off:
        detail = ", ".join(f"{c} debits {debits[c]} vs credits {credits[c]}" for c in off)
        if len(debits) > 1 and sum(debits.values()) == sum(credits.values()):
            raise MixedCurrency(f"each currency must balance on its own: {detail}", off=off)
        raise UnbalancedEntry(f"debits and credits differ: {detail}", off=off)


def _check_accounts(
    postings: Sequence[PostingSpec],
    locked: Mapping[int, _Locked],
    *,
    release: Mapping[int, int],
) -> dict[int, tuple[int, int]]:
    """Per account (debits, credits) of this entry, after refusing bad accounts and overdrafts."""
    missing = sorted({p.account_id for p in postings} - locked.keys())
    if missing:
        raise UnknownAccount(f"no ledger account {missing[0]}", account_ids=missing)
    totals: dict[int, tuple[int, int]] = {}
    for i, spec in enumerate(postings):
        account = locked[spec.account_id]
        if account.status != Account.Status.OPEN:
            raise AccountClosed(f"account {account.code} is closed", account_id=account.id)
        if account.currency != spec.currency:
            raise CurrencyMismatch(
                f"posting {i} is in {spec.currency} but account {account.code} is in "
                f"{account.currency}",
                account_id=account.id,
            )
        d, c = totals.get(spec.account_id, (0, 0))
        totals[spec.account_id] = (d + spec.debit_minor, c + spec.credit_minor)
    for account_id, (d, c) in totals.items():
        account = locked[account_id]
        delta = d - c if account.debit_normal else c - d
        available_after = account.available + release.get(account_id, 0) + delta
        if not account.allow_negative and delta < 0 and available_after < 0:
            raise InsufficientFunds(
                f"account {account.code} has {account.available + release.get(account_id, 0)} "
                f"{account.currency} available (minor units); this entry needs {-delta}",
                account_id=account_id,
                available_minor=account.available + release.get(account_id, 0),
                required_minor=-delta,
            )
    return totals


def _replay(
    idempotency_key: str, postings: Sequence[PostingSpec], reverses_id: int | None
) -> JournalEntry | None:
    """The entry already posted under this key, if its postings are the same; else raise."""
    entry = JournalEntry.objects.filter(idempotency_key=idempotency_key).first()
    if entry is None:
        return None
    stored = sorted(
        (p.account_id, p.currency, p.debit_minor, p.credit_minor) for p in entry.postings.all()
    )
    if stored != sorted(p.key() for p in postings) or entry.reverses_id != reverses_id:
        raise IdempotencyConflict(
            f"idempotency key {idempotency_key!r} was used for entry {entry.pk} with other "
            "postings",
            entry_id=entry.pk,
        )
    return entry


# The whole post in one statement, so that outside a transaction it is one round trip
# (PostgreSQL runs a single statement atomically; the deferred triggers fire at its implicit
# COMMIT). `locked` takes the row locks in ascending account id; `verdict` re-checks what
# Python cannot know before the locks (accounts exist and are open, currencies match,
# no-negative accounts stay covered); the writes happen only if it holds. On a refusal the
# locked rows come back so that Python raises the precise typed error; nothing was written.
_POST_ENTRY = """
WITH locked AS MATERIALIZED (
    SELECT a.id, a.code, a.currency, a.status, a.allow_negative, b.debit_normal,
           b.debits_minor, b.credits_minor, b.held_minor
      FROM ledger_account a JOIN ledger_accountbalance b ON b.account_id = a.id
     WHERE a.id = ANY(%(ids)s::bigint[])
     ORDER BY a.id
       FOR NO KEY UPDATE OF a, b
), legs AS (
    SELECT * FROM jsonb_to_recordset(%(legs)s::jsonb)
        AS x(n int, a bigint, c varchar, d bigint, k bigint)
), changes AS (
    SELECT * FROM jsonb_to_recordset(%(changes)s::jsonb)
        AS v(a bigint, d bigint, k bigint, r bigint)
), verdict AS (
    SELECT (SELECT count(*) FROM locked) = %(n_accounts)s
       AND NOT EXISTS (SELECT 1 FROM legs JOIN locked l ON l.id = legs.a
                        WHERE l.status <> 'open' OR l.currency <> legs.c)
       AND NOT EXISTS (
           SELECT 1 FROM changes v JOIN locked l ON l.id = v.a
            WHERE NOT l.allow_negative
              AND (CASE WHEN l.debit_normal THEN v.d - v.k ELSE v.k - v.d END) < 0
              AND (CASE WHEN l.debit_normal THEN l.debits_minor - l.credits_minor + v.d - v.k
                        ELSE l.credits_minor - l.debits_minor + v.k - v.d END)
                  - (l.held_minor - v.r) < 0
       ) AS ok
), e AS (
    -- Why ON CONFLICT: a concurrent post with the same key waits here for the first to
    -- commit and then sees the row, so racing retries produce one entry and no
    -- IntegrityError. On a conflict `e` is empty, so `p` and `b`, which join it, write nothing.
    INSERT INTO ledger_journalentry
        (idempotency_key, memo, effective_at, created_at, reverses_id, metadata)
    SELECT %(key)s, %(memo)s, %(effective_at)s, %(now)s, %(reverses_id)s, %(metadata)s::jsonb
      FROM verdict WHERE verdict.ok
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
), p AS (
    INSERT INTO ledger_posting (entry_id, account_id, currency, debit_minor, credit_minor)
    SELECT e.id, legs.a, legs.c, legs.d, legs.k FROM e, legs ORDER BY legs.n
    RETURNING id
), b AS (
    UPDATE ledger_accountbalance AS b
       SET debits_minor = b.debits_minor + v.d, credits_minor = b.credits_minor + v.k,
           held_minor = b.held_minor - v.r, version = b.version + 1, updated_at = %(now)s
      FROM e, changes v
     WHERE b.account_id = v.a
    RETURNING b.account_id
)
SELECT (SELECT id FROM e), verdict.ok,
       CASE WHEN verdict.ok THEN NULL ELSE (
           SELECT json_agg(json_build_array(id, code, currency, status, allow_negative,
                                            debit_normal, debits_minor, credits_minor,
                                            held_minor))
             FROM locked) END
  FROM verdict
"""


def _post(
    *,
    idempotency_key: str,
    postings: Sequence[PostingSpec],
    memo: str,
    effective_at: datetime | None,
    metadata: Mapping[str, Any] | None,
    reverses_id: int | None = None,
    release: Mapping[int, int] | None = None,
) -> JournalEntry:
    """Post one entry in one statement; `release` frees held amounts first.

    The happy path is a single query: lock, check, write entry, postings and balances.
    Refusals are decided before any write, so nothing is written when one is raised.
    """
    if not idempotency_key or len(idempotency_key) > 200:
        raise LedgerError("an idempotency key is 1 to 200 characters")
    _validate_specs(postings)
    release = release or {}
    totals: dict[int, list[int]] = {}
    for p in postings:
        t = totals.setdefault(p.account_id, [0, 0])
        t[0] += p.debit_minor
        t[1] += p.credit_minor
    for account_id in release:
        totals.setdefault(account_id, [0, 0])
    changes = [
        {"a": a, "d": d, "k": k, "r": release.get(a, 0)} for a, (d, k) in sorted(totals.items())
    ]
    now = timezone.now()
    effective_at = effective_at or now
    meta = dict(metadata or {})
    legs = [
        {"n": i, "a": p.account_id, "c": p.currency, "d": p.debit_minor, "k": p.credit_minor}
        for i, p in enumerate(postings)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            _POST_ENTRY,
            {
                "ids": sorted(totals),
                "legs": json.dumps(legs),
                "changes": json.dumps(changes),
                "n_accounts": len(totals),
                "key": idempotency_key,
                "memo": memo,
                "effective_at": effective_at,
                "now": now,
                "reverses_id": reverses_id,
                "metadata": json.dumps(meta),
            },
        )
        row = cursor.fetchone()
    assert row is not None
    entry_id, ok, locked_rows = row
    if entry_id is not None:
        return JournalEntry(
            id=entry_id,
            idempotency_key=idempotency_key,
            memo=memo,
            effective_at=effective_at,
            created_at=now,
            reverses_id=reverses_id,
            metadata=meta,
        )
    if ok:
        replayed = _replay(idempotency_key, postings, reverses_id)
        assert replayed is not None  # the conflicting row is committed and visible
        return replayed
    if isinstance(locked_rows, str):
        locked_rows = json.loads(locked_rows)
    locked = {r[0]: _Locked(*r) for r in locked_rows or []}
    try:
        _check_accounts(postings, locked, release=release)
    except (AccountClosed, InsufficientFunds):
        # A retry of a request that already went through must get its entry back even if
        # the account has since been spent or closed.
        replayed = _replay(idempotency_key, postings, reverses_id)
        if replayed is not None:
            return replayed
        raise
    raise LedgerError("the database refused the entry")  # pragma: no cover - SQL and Python agree


def entry_post(
    *,
    idempotency_key: str,
    postings: Sequence[PostingSpec],
    memo: str,
    effective_at: datetime | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> JournalEntry:
    """Post a balanced entry and update the balances; the same key returns the first entry.

    Atomic without `transaction.atomic`: the post is one SQL statement, which PostgreSQL
    runs atomically on its own (inside a caller's transaction it is part of it). Outside a
    transaction that makes a post one round trip instead of four (BEGIN, lock, write, COMMIT).
    """
    return _post(
        idempotency_key=idempotency_key,
        postings=postings,
        memo=memo,
        effective_at=effective_at,
        metadata=metadata,
    )


@transaction.atomic
def entry_reverse(
    *,
    entry_id: int,
    idempotency_key: str,
    memo: str,
    effective_at: datetime | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> JournalEntry:
    """Post the mirror image of an entry, pointing at it. Once per entry; never of a reversal."""
    # Why lock the original: two reversals of the same entry queue here, so the second
    # sees the first and answers AlreadyReversed (or replays it) instead of an
    # IntegrityError from the unique `reverses` column.
    original = JournalEntry.objects.select_for_update(no_key=True).filter(pk=entry_id).first()
    if original is None:
        raise UnknownEntry(f"no journal entry {entry_id}", entry_id=entry_id)
    if original.reverses_id is not None:
        raise ReversalOfReversal(
            f"entry {entry_id} reverses entry {original.reverses_id}; it cannot be reversed",
            entry_id=entry_id,
        )
    existing = JournalEntry.objects.filter(reverses_id=entry_id).first()
    if existing is not None:
        if existing.idempotency_key == idempotency_key:
            return existing
        raise AlreadyReversed(
            f"entry {entry_id} was already reversed by entry {existing.pk}",
            entry_id=entry_id,
            reversed_by=existing.pk,
        )
    mirrored = [
        PostingSpec(
            account_id=p.account_id,
            currency=p.currency,
            debit_minor=p.credit_minor,
            credit_minor=p.debit_minor,
        )
        for p in original.postings.all()
    ]
    return _post(
        idempotency_key=idempotency_key,
        postings=mirrored,
        memo=memo,
        effective_at=effective_at,
        metadata={"reverses": entry_id, **(metadata or {})},
        reverses_id=entry_id,
    )


# --------------------------------------------------------------------------- holds


@transaction.atomic
def hold_place(
    *,
    account_id: int,
    amount_minor: int,
    idempotency_key: str,
    memo: str = "",
    expires_at: datetime | None = None,
) -> Hold:
    """Reserve funds: available balance drops by the amount until captured or voided."""
    _check_amount(amount_minor, what="hold amount")
    if not idempotency_key or len(idempotency_key) > 200:
        raise LedgerError("an idempotency key is 1 to 200 characters")
    locked = _lock_accounts([account_id]).get(account_id)  # why: see _lock_accounts
    if locked is None:
        raise UnknownAccount(f"no ledger account {account_id}", account_id=account_id)
    try:
        if locked.status != Account.Status.OPEN:
            raise AccountClosed(f"account {locked.code} is closed", account_id=account_id)
        if not locked.allow_negative and locked.available < amount_minor:
            raise InsufficientFunds(
                f"account {locked.code} has {locked.available} {locked.currency} available "
                f"(minor units); the hold needs {amount_minor}",
                account_id=account_id,
                available_minor=locked.available,
                required_minor=amount_minor,
            )
    except LedgerError:
        replayed = _hold_replay(idempotency_key, account_id, amount_minor)
        if replayed is not None:
            return replayed
        raise
    now = timezone.now()
    with connection.cursor() as cursor:
        # Why ON CONFLICT: concurrent retries with one key produce one hold (see _post).
        cursor.execute(
            "INSERT INTO ledger_hold (account_id, amount_minor, status, idempotency_key, memo,"
            " expires_at, created_at) VALUES (%s, %s, 'active', %s, %s, %s, %s)"
            " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            [account_id, amount_minor, idempotency_key, memo, expires_at, now],
        )
        row = cursor.fetchone()
        if row is None:
            replayed = _hold_replay(idempotency_key, account_id, amount_minor)
            assert replayed is not None
            return replayed
        cursor.execute(
            "UPDATE ledger_accountbalance SET held_minor = held_minor + %s,"
            " version = version + 1, updated_at = %s WHERE account_id = %s",
            [amount_minor, now, account_id],
        )
    return Hold.objects.get(pk=row[0])


def _hold_replay(key: str, account_id: int, amount_minor: int) -> Hold | None:
    hold = Hold.objects.filter(idempotency_key=key).first()
    if hold is None:
        return None
    if (hold.account_id, hold.amount_minor) != (account_id, amount_minor):
        raise IdempotencyConflict(
            f"idempotency key {key!r} was used for hold {hold.pk} of {hold.amount_minor} "
            f"on account {hold.account_id}",
            hold_id=hold.pk,
        )
    return hold


def _lock_hold(hold_id: int) -> Hold:
    # Why lock: capture and void of one hold race (an operator voids while a transfer
    # captures); the second waits and then sees the hold is no longer active.
    hold = (
        Hold.objects.select_for_update(of=("self",))
        .select_related("account", "capture_entry")
        .filter(pk=hold_id)
        .first()
    )
    if hold is None:
        raise UnknownHold(f"no hold {hold_id}", hold_id=hold_id)
    return hold


@transaction.atomic
def hold_capture(
    *,
    hold_id: int,
    to_account_id: int,
    idempotency_key: str,
    memo: str,
    amount_minor: int | None = None,
    effective_at: datetime | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> JournalEntry:
    """Post the held money (all of it, or less) to another account and release the hold.

    The held account is moved on its decreasing side (debit for a wallet) and
    `to_account_id` on the other, in the same transaction as the release.
    """
    hold = _lock_hold(hold_id)
    if hold.status == Hold.Status.CAPTURED:
        assert hold.capture_entry is not None
        if hold.capture_entry.idempotency_key == idempotency_key:
            return hold.capture_entry
        raise HoldNotActive(f"hold {hold_id} was already captured", hold_id=hold_id)
    if hold.status != Hold.Status.ACTIVE:
        raise HoldNotActive(f"hold {hold_id} is {hold.status}", hold_id=hold_id)
    now = timezone.now()
    if hold.expires_at is not None and hold.expires_at <= now:
        raise HoldNotActive(f"hold {hold_id} expired at {hold.expires_at}", hold_id=hold_id)
    amount = hold.amount_minor if amount_minor is None else amount_minor
    _check_amount(amount, what="capture amount")
    if amount > hold.amount_minor:
        raise HoldAmountExceeded(
            f"capture of {amount} exceeds the {hold.amount_minor} held", hold_id=hold_id
        )
    currency = hold.account.currency
    if hold.account.debit_normal:
        legs = [
            PostingSpec.credit(hold.account_id, amount, currency),
            PostingSpec.debit(to_account_id, amount, currency),
        ]
    else:
        legs = [
            PostingSpec.debit(hold.account_id, amount, currency),
            PostingSpec.credit(to_account_id, amount, currency),
        ]
    entry = _post(
        idempotency_key=idempotency_key,
        postings=legs,
        memo=memo,
        effective_at=effective_at,
        metadata={"hold": hold_id, **(metadata or {})},
        release={hold.account_id: hold.amount_minor},
    )
    hold.status = Hold.Status.CAPTURED
    hold.capture_entry = entry
    hold.resolved_at = now
    hold.save(update_fields=["status", "capture_entry", "resolved_at"])
    return entry


@transaction.atomic
def hold_void(*, hold_id: int, reason: str = "") -> Hold:
    """Release a hold without posting anything (idempotent for a voided hold)."""
    hold = _lock_hold(hold_id)
    if hold.status == Hold.Status.VOIDED:
        return hold
    if hold.status != Hold.Status.ACTIVE:
        raise HoldNotActive(f"hold {hold_id} is {hold.status}", hold_id=hold_id)
    now = timezone.now()
    # The UPDATE locks the one balance row; the hold row was locked first, as in capture.
    AccountBalance.objects.filter(account_id=hold.account_id).update(
        held_minor=F("held_minor") - hold.amount_minor,
        version=F("version") + 1,
        updated_at=now,
    )
    hold.status = Hold.Status.VOIDED
    hold.resolved_at = now
    if reason:
        hold.memo = f"{hold.memo} [voided: {reason}]".strip()[:500]
    hold.save(update_fields=["status", "resolved_at", "memo"])
    return hold


def holds_expire(*, now: datetime | None = None) -> int:
    """Void every active hold past its expiry (each in its own transaction); returns how many."""
    now = now or timezone.now()
    due = Hold.objects.filter(status=Hold.Status.ACTIVE, expires_at__lte=now).values_list(
        "pk", flat=True
    )
    count = 0
    for hold_id in list(due):
        try:
            hold_void(hold_id=hold_id, reason="expired")
        except HoldNotActive:
            continue  # captured in the meantime
        count += 1
    return count
