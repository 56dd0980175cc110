"""The named checks: each a query that lists exceptions for one date, nothing else.

A check is `func(ctx: CheckContext) -> list[Exception_]`, registered by name with
`register_check`; the run (`runs.py`) calls every registered check, turns each exception
into a `Mismatch` (opened, reopened, or cleared when it is no longer listed). The ERP and CRM
connectors add theirs the same way from their own modules (listed in
`RECONCILIATION_CHECK_MODULES`), so this module never imports them.

Every check reads the world as it was known at `ctx.known_at` (statements imported, matches
made, entries created, transitions recorded up to then) for the day `ctx.as_of`: a replay of
a past run with the same `known_at` lists the same exceptions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from integrations.reconciliation.matching import window_days
from integrations.reconciliation.mismatches import Exception_


@dataclass(frozen=True)
class CheckContext:
    as_of: date
    known_at: datetime

    @property
    def day_end(self) -> datetime:
        return datetime.combine(self.as_of + timedelta(days=1), time(0), tzinfo=UTC)


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    func: Callable[[CheckContext], list[Exception_]]


CHECKS: dict[str, Check] = {}


def register_check(
    name: str, description: str
) -> Callable[
    [Callable[[CheckContext], list[Exception_]]], Callable[[CheckContext], list[Exception_]]
]:
    """Decorator: add a check to the registry (a second registration of a name replaces it,
    so a module reloaded in a test does not duplicate it)."""

    def wrap(
        func: Callable[[CheckContext], list[Exception_]],
    ) -> Callable[[CheckContext], list[Exception_]]:
        CHECKS[name] = Check(name=name, description=description, func=func)
        return func

    return wrap


def _rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


# Not in a match that existed and was not undone at `known_at` (every item carries its
# match's times, so no join with the matches). Live and undone items are asked apart: each
# NOT EXISTS then probes its own partial index (the live rows' unique one, the small index of
# undone rows) instead of every item the line or posting ever had.
_NOT_LIVE_ITEM = """NOT EXISTS (SELECT 1 FROM integrations_reconmatchitem i
        WHERE i.{col} = {ref} AND i.active AND i.created_at <= %(known)s)
    AND NOT EXISTS (SELECT 1 FROM integrations_reconmatchitem i
        WHERE i.{col} = {ref} AND NOT i.active AND i.created_at <= %(known)s
          AND i.undone_at > %(known)s)"""

_SIGNED = """CASE WHEN a.type IN ('asset', 'expense') THEN p.debit_minor - p.credit_minor
             ELSE p.credit_minor - p.debit_minor END"""


def _params(ctx: CheckContext, **extra: Any) -> dict[str, Any]:
    return {"as_of": ctx.as_of, "known": ctx.known_at, **extra}


@register_check("statement_line_unmatched", "a bank or partner line that matches no ledger record")
def statement_line_unmatched(ctx: CheckContext) -> list[Exception_]:
    return _lines_unmatched(ctx, skip_returns=True)


def _lines_unmatched(ctx: CheckContext, *, skip_returns: bool) -> list[Exception_]:
    # A partner's money back for a returned payout (RETURN-<reference>) is the same fault as
    # the completed transfer the partner did not pay: `transfer_payout_confirmed` lists it,
    # once; the line is listed here only when that check no longer explains it.
    rows = _rows(
        f"""WITH unconfirmed AS ({_UNCONFIRMED})
            SELECT l.id, s.bank_account_id, l.amount_minor, l.currency,
                   coalesce(l.value_date, l.booking_date), l.bank_reference, l.end_to_end_id,
                   l.remittance_info, f.status
            FROM integrations_statementline l
            JOIN integrations_bankstatement s ON s.id = l.statement_id
            LEFT JOIN integrations_suggestedfunding f ON f.statement_line_id = l.id
            WHERE s.imported_at <= %(known)s
              AND coalesce(l.value_date, l.booking_date) <= %(as_of)s
              AND {_NOT_LIVE_ITEM.format(col="statement_line_id", ref="l.id")}
              AND NOT (%(skip_returns)s AND s.format = 'partner' AND l.end_to_end_id IN (
                  SELECT 'RETURN-' || reference FROM unconfirmed))
            ORDER BY l.id""",  # noqa: S608 (fixed fragments)
        _params(ctx, skip_returns=skip_returns),
    )
    return [
        Exception_(
            key=f"line:{lid}",
            detail=f"statement line {lid}: {amount} {ccy} on {day} matches nothing"
            + (f" (suggested funding {status})" if status else ""),
            theirs={
                "line_id": lid,
                "amount_minor": amount,
                "day": str(day),
                "bank_reference": ref,
                "end_to_end_id": e2e,
                "remittance": remit[:140],
            },
            currency=ccy,
            difference_minor=amount,
            bank_account_id=account,
        )
        for lid, account, amount, ccy, day, ref, e2e, remit, status in rows
    ]


@register_check(
    "ledger_record_unmatched", "a ledger record on a bank account the bank never showed"
)
def ledger_record_unmatched(ctx: CheckContext) -> list[Exception_]:
    # Only up to the window before the date (the bank may book a day or two later), and only
    # for days the account's statements cover.
    rows = _rows(
        f"""WITH covered AS (
                SELECT s.bank_account_id, max(coalesce(l.value_date, l.booking_date)) AS last_day
                FROM integrations_statementline l
                JOIN integrations_bankstatement s ON s.id = l.statement_id
                WHERE s.imported_at <= %(known)s GROUP BY s.bank_account_id)
            SELECT p.id, b.id, {_SIGNED}, p.currency,
                   (e.effective_at AT TIME ZONE 'UTC')::date, e.idempotency_key
            FROM integrations_bankaccount b
            JOIN covered c ON c.bank_account_id = b.id
            JOIN ledger_account a ON a.code = b.ledger_account_code
            JOIN ledger_posting p ON p.account_id = a.id
            JOIN ledger_journalentry e ON e.id = p.entry_id
            WHERE e.created_at <= %(known)s
              AND (e.effective_at AT TIME ZONE 'UTC')::date
                  <= least(%(as_of)s - %(window)s, c.last_day)
              AND {_NOT_LIVE_ITEM.format(col="posting_id", ref="p.id")}
            ORDER BY p.id""",  # noqa: S608 (fixed fragments)
        _params(ctx, window=window_days()),
    )
    return [
        Exception_(
            key=f"posting:{pid}",
            detail=f"ledger posting {pid} ({key}): {amount} {ccy} on {day} is on no statement",
            ours={"posting_id": pid, "amount_minor": amount, "day": str(day), "key": key},
            currency=ccy,
            difference_minor=-amount,
            bank_account_id=account,
        )
        for pid, account, amount, ccy, day, key in rows
    ]


# An item's posting amount: its own column when the row carries both sides (a one-to-one
# match), else `amount_minor` (a posting-only row).
_POSTING_AMOUNT = "coalesce(i.posting_amount_minor, i.amount_minor)"


@register_check("match_amount_difference", "a match whose two sides differ in amount")
def match_amount_difference(ctx: CheckContext) -> list[Exception_]:
    # Two shapes: a match with items (summed per side), and a one-to-one match in one item
    # row (its two amounts side by side; a partial index holds the rows where they differ).
    rows = _rows(
        f"""SELECT 'match', m.id, m.bank_account_id, m.rule, b.currency,
                  sum(i.amount_minor) FILTER (WHERE i.statement_line_id IS NOT NULL)::bigint,
                  sum({_POSTING_AMOUNT}) FILTER (WHERE i.posting_id IS NOT NULL)::bigint
           FROM integrations_reconmatch m
           JOIN integrations_reconmatchitem i ON i.match_id = m.id
           JOIN integrations_bankaccount b ON b.id = m.bank_account_id
           WHERE m.created_at <= %(known)s AND (m.undone_at IS NULL OR m.undone_at > %(known)s)
           GROUP BY m.id, b.currency
           HAVING sum(i.amount_minor) FILTER (WHERE i.statement_line_id IS NOT NULL)
               <> sum({_POSTING_AMOUNT}) FILTER (WHERE i.posting_id IS NOT NULL)
           UNION ALL
           SELECT 'item', i.id, s.bank_account_id, i.rule, b.currency, i.amount_minor,
                  i.posting_amount_minor
           FROM integrations_reconmatchitem i
           JOIN integrations_statementline l ON l.id = i.statement_line_id
           JOIN integrations_bankstatement s ON s.id = l.statement_id
           JOIN integrations_bankaccount b ON b.id = s.bank_account_id
           WHERE i.match_id IS NULL AND i.amount_minor <> i.posting_amount_minor
             AND i.created_at <= %(known)s AND (i.undone_at IS NULL OR i.undone_at > %(known)s)
           ORDER BY 1, 2""",  # noqa: S608 (fixed fragment)
        _params(ctx),
    )
    return [
        Exception_(
            key=f"{shape}:{mid}",
            detail=(f"match {mid}" if shape == "match" else f"one-to-one match {mid}")
            + f" ({rule}): the bank says {theirs}, the ledger {ours} {ccy}",
            ours={f"{shape}_id": mid, "amount_minor": ours},
            theirs={"amount_minor": theirs},
            currency=ccy,
            difference_minor=theirs - ours,
            bank_account_id=account,
        )
        for shape, mid, account, rule, ccy, theirs, ours in rows
    ]


@register_check(
    "balance_vs_statement",
    "the ledger balance of a bank or partner account differs from the statement's closing",
)
def balance_vs_statement(ctx: CheckContext) -> list[Exception_]:
    """For each account's latest closing balance up to the date: the difference, and the
    unmatched lines and ledger records up to that day that explain it (line by line)."""
    rows = _rows(
        f"""WITH latest AS (
                SELECT DISTINCT ON (s.bank_account_id) s.bank_account_id, s.closing_date,
                       s.closing_balance_minor, s.statement_id
                FROM integrations_bankstatement s
                WHERE s.closing_date IS NOT NULL AND s.closing_date <= %(as_of)s
                  AND s.imported_at <= %(known)s
                ORDER BY s.bank_account_id, s.closing_date DESC, s.id DESC)
            SELECT b.id, b.currency, b.ledger_account_code, x.closing_date,
                   x.closing_balance_minor, x.statement_id,
                   (SELECT coalesce(sum({_SIGNED}), 0)::bigint FROM ledger_posting p
                    JOIN ledger_account a ON a.id = p.account_id
                    JOIN ledger_journalentry e ON e.id = p.entry_id
                    WHERE a.code = b.ledger_account_code AND e.created_at <= %(known)s
                      AND (e.effective_at AT TIME ZONE 'UTC')::date <= x.closing_date)
            FROM latest x JOIN integrations_bankaccount b ON b.id = x.bank_account_id
            ORDER BY b.id""",  # noqa: S608 (fixed fragments)
        _params(ctx),
    )
    found = []
    # every unmatched line explains the difference, a returned payout's money back too
    lines = {e.key: e for e in _lines_unmatched(ctx, skip_returns=False)}
    postings = {e.key: e for e in ledger_record_unmatched(ctx)}
    for account, ccy, code, day, closing, statement_id, ledger in rows:
        if closing == ledger:
            continue
        theirs_lines = [
            e.theirs
            for e in lines.values()
            if e.bank_account_id == account and e.theirs["day"] <= str(day)
        ]
        our_postings = [
            e.ours
            for e in postings.values()
            if e.bank_account_id == account and e.ours["day"] <= str(day)
        ]
        explained = sum(x["amount_minor"] for x in theirs_lines) - sum(
            x["amount_minor"] for x in our_postings
        )
        found.append(
            Exception_(
                key=f"balance:{account}:{day}",
                detail=(
                    f"{code} on {day}: ledger {ledger}, statement {statement_id} closing "
                    f"{closing} {ccy}; {len(theirs_lines)} unmatched lines and "
                    f"{len(our_postings)} unmatched ledger records explain {explained}, "
                    f"{closing - ledger - explained} unexplained"
                ),
                ours={"balance_minor": ledger, "unmatched_records": our_postings},
                theirs={
                    "closing_minor": closing,
                    "statement": statement_id,
                    "unmatched_lines": theirs_lines,
                },
                currency=ccy,
                difference_minor=closing - ledger,
                bank_account_id=account,
            )
        )
    return found


# The state a transfer was in at `known`: its last recorded transition up to then.
_STATE_AT = """SELECT DISTINCT ON (tt.transfer_id) tt.transfer_id, tt.target_state,
                      tt.occurred_at
               FROM transfers_transfertransition tt WHERE tt.occurred_at <= %(known)s
               ORDER BY tt.transfer_id, tt.occurred_at DESC, tt.id DESC"""


# Completed transfers (as of `known`) without a payout the partner confirmed as sent.
_UNCONFIRMED = f"""WITH state_at AS ({_STATE_AT})
    SELECT t.reference, t.target_currency, t.target_amount_minor,
           coalesce(string_agg(pi.partner || ':' || pi.status, ', '), '') AS statuses
    FROM transfers_transfer t JOIN state_at s ON s.transfer_id = t.id
    LEFT JOIN integrations_payoutinstruction pi ON pi.transfer_id = t.id
    WHERE s.target_state = 'completed'
    GROUP BY t.id
    HAVING NOT coalesce(bool_or(pi.status = 'sent'), false)"""  # noqa: S608 (fixed fragment)


def transfer_slas() -> dict[str, int]:
    """Hours a transfer may stay in a state before it counts as stuck."""
    default = {"created": 24, "funded": 4, "processing": 48}
    return dict(getattr(settings, "RECONCILIATION_TRANSFER_SLA_HOURS", default))


@register_check("transfer_stuck", "a transfer in one state beyond its SLA")
def transfer_stuck(ctx: CheckContext) -> list[Exception_]:
    slas = transfer_slas()
    rows = _rows(
        f"""WITH state_at AS ({_STATE_AT})
            SELECT t.reference, coalesce(s.target_state, 'created'),
                   coalesce(s.occurred_at, t.created_at), t.source_currency,
                   t.source_amount_minor
            FROM transfers_transfer t LEFT JOIN state_at s ON s.transfer_id = t.id
            WHERE t.created_at <= %(known)s
              AND coalesce(s.target_state, 'created') = ANY(%(states)s)""",  # noqa: S608
        _params(ctx, states=list(slas)),
    )
    found = []
    for reference, state, since, ccy, _amount in rows:
        hours = (ctx.known_at - since).total_seconds() / 3600
        if hours > slas[state]:
            found.append(
                Exception_(
                    key=f"transfer:{reference}:{state}",
                    detail=f"transfer {reference} {state} since {since:%Y-%m-%d %H:%M} "
                    f"({hours:.0f} h, SLA {slas[state]} h)",
                    ours={"reference": reference, "state": state, "since": since.isoformat()},
                    currency=ccy,
                    difference_minor=0,
                )
            )
    return sorted(found, key=lambda e: e.key)


@register_check("transfer_payout_confirmed", "a completed transfer its payout partner has not paid")
def transfer_payout_confirmed(ctx: CheckContext) -> list[Exception_]:
    rows = _rows(
        f"""SELECT reference, target_currency, target_amount_minor, statuses
            FROM ({_UNCONFIRMED}) u ORDER BY reference""",  # noqa: S608 (fixed fragment)
        _params(ctx),
    )
    return [
        Exception_(
            key=f"payout:{reference}",
            detail=f"transfer {reference} is completed, the partner says {statuses or 'nothing'}",
            ours={"reference": reference, "state": "completed", "amount_minor": amount},
            theirs={"payouts": statuses},
            currency=ccy,
            difference_minor=amount,
        )
        for reference, ccy, amount, statuses in rows
    ]


@register_check("transfer_accounting_synced", "a completed transfer not synced to the books")
def transfer_accounting_synced(ctx: CheckContext) -> list[Exception_]:
    rows = _rows(
        f"""WITH state_at AS ({_STATE_AT})
            SELECT t.reference, c.id, c.provider,
                   coalesce(string_agg(j.action || ':' || j.state, ', '), '')
            FROM transfers_transfer t JOIN state_at s ON s.transfer_id = t.id
            CROSS JOIN integrations_connection c
            LEFT JOIN integrations_syncjob j ON j.connection_id = c.id
                 AND j.object_type = 'transfer' AND j.object_id = t.reference
            WHERE s.target_state = 'completed' AND c.status = 'active'
              AND c.kind = 'accounting' AND c.owner = 'platform'
            GROUP BY t.id, c.id
            HAVING NOT coalesce(bool_and(j.state IN ('synced', 'skipped')), false)
            ORDER BY t.reference, c.id""",  # noqa: S608 (fixed fragment)
        _params(ctx),
    )
    return [
        Exception_(
            key=f"sync:{reference}:{conn}",
            detail=f"transfer {reference} in {provider}: {jobs or 'no sync job'}",
            ours={"reference": reference},
            theirs={"connection": conn, "jobs": jobs},
        )
        for reference, conn, provider, jobs in rows
    ]


@register_check("accounting_fee", "a fee not on the mapped revenue account in the books")
def accounting_fee(ctx: CheckContext) -> list[Exception_]:
    """The accounting connectors' own reconcile (e.g. xero/reconcile.py) compares fees with
    the books and keeps SyncMismatch rows; this lists the open ones (no second comparison)."""
    rows = _rows(
        """SELECT id, kind, object_id, external_id, detail FROM integrations_syncmismatch
           WHERE status = 'open' AND created_at <= %(known)s AND object_type = 'transfer'
           ORDER BY id""",
        _params(ctx),
    )
    return [
        Exception_(
            key=f"syncmismatch:{mid}",
            detail=f"{kind}: {detail}",
            ours={"reference": ref},
            theirs={"external_id": ext},
        )
        for mid, kind, ref, ext, detail in rows
    ]


@register_check("hold_old", "a hold on a ledger account older than the allowed days")
def hold_old(ctx: CheckContext) -> list[Exception_]:
    days = int(getattr(settings, "RECONCILIATION_HOLD_MAX_AGE_DAYS", 7))
    rows = _rows(
        """SELECT h.id, a.code, a.currency, h.amount_minor, h.created_at
           FROM ledger_hold h JOIN ledger_account a ON a.id = h.account_id
           WHERE h.created_at <= %(known)s - make_interval(days => %(days)s)
             AND (h.status = 'active' OR h.resolved_at > %(known)s)
           ORDER BY h.id""",
        _params(ctx, days=days),
    )
    return [
        Exception_(
            key=f"hold:{hid}",
            detail=f"hold {hid} of {amount} {ccy} on {code} since "
            f"{created:%Y-%m-%d} (over {days} days)",
            ours={"hold_id": hid, "account": code, "amount_minor": amount},
            currency=ccy,
            difference_minor=amount,
        )
        for hid, code, ccy, amount, created in rows
    ]


@register_check("suspense_not_zero", "a suspense account whose balance is not zero")
def suspense_not_zero(ctx: CheckContext) -> list[Exception_]:
    prefixes = list(getattr(settings, "RECONCILIATION_SUSPENSE_PREFIXES", ["suspense:"]))
    rows = _rows(
        f"""SELECT a.code, a.currency, coalesce(sum({_SIGNED}), 0)::bigint
            FROM ledger_account a
            JOIN ledger_posting p ON p.account_id = a.id
            JOIN ledger_journalentry e ON e.id = p.entry_id
            WHERE a.code LIKE ANY(%(patterns)s) AND e.created_at <= %(known)s
              AND (e.effective_at AT TIME ZONE 'UTC')::date <= %(as_of)s
            GROUP BY a.id HAVING coalesce(sum({_SIGNED}), 0) <> 0
            ORDER BY a.code""",  # noqa: S608 (fixed fragment)
        _params(ctx, patterns=[p.replace("%", r"\%") + "%" for p in prefixes]),
    )
    return [
        Exception_(
            key=f"suspense:{code}",
            detail=f"{code} holds {balance} {ccy}, not zero",
            ours={"account": code, "balance_minor": balance},
            currency=ccy,
            difference_minor=balance,
        )
        for code, ccy, balance in rows
    ]
