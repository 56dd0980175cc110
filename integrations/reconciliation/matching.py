"""Matching statement lines against the ledger, set-based in SQL.

The ledger side of a bank account is the postings on the ledger account it mirrors
(`BankAccount.ledger_account_code`), signed like the statement (+ money in: a debit on an
asset account). Each rule is a few statements over two temporary tables of what is still
unmatched: no Python loop over lines, so the work is a handful of hash joins whatever N is.

Rules, in this order (each only sees what earlier rules left; exact ids with different
amounts wait until batch and split have had their turn, so a split line is not half-matched):

- exact_id: UETR, or end-to-end id / bank reference = our reference (the transfer's
  reference, the funding's bank reference, `metadata.end_to_end_id`), same currency; no date
  window. Confidence 100, or 60 when the amounts differ (the `match_amount_difference`
  check lists those).
- reference_amount: amount, currency, value date within the window, our reference inside
  the line's normalised remittance information. Confidence 90 minus 5 per day apart.
- batch: one line = the sum of the postings sharing a `metadata.batch_reference` the line
  names (a batch payout). Confidence 90.
- split: several lines sharing one reference = one posting with that reference (a split
  funding). Confidence 85.

Ties are broken one-to-one by rank on both sides (earliest line, earliest posting), so a
duplicated line matches once and its copy stays unmatched, for a check to list.
Unmatched money in on a funding account becomes a `SuggestedFunding`: never credited here.

References are normalised the same way on both sides: upper case, only A-Z and 0-9 (the
lines' once, as they are stored: generated columns; the postings' here).

A one-to-one match is written as one `ReconMatchItem` row (both sides, rule, confidence): a
batch or split match as a `ReconMatch` with its items.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from integrations.reconciliation.models import BankAccount

# Normalised reference: upper case, letters and digits only.
# An empty or missing value skips the regular expression (most lines carry one or two of
# the four references; the expression is most of the cost of preparing 100,000s of rows).
_NORM = """CASE WHEN coalesce({0}, '') = '' THEN ''
    ELSE upper(regexp_replace({0}, '[^A-Za-z0-9]', '', 'g')) END"""

# The reference our ledger gives a posting's entry: its own metadata first, else what the
# idempotency key carries (transfer:<reference>:<step>, wallet-funding:<partner>:<bank ref>).
_OUR_REF = """coalesce(
    nullif(e.metadata->>'reference', ''),
    CASE
        WHEN e.idempotency_key LIKE 'transfer:%%' THEN split_part(e.idempotency_key, ':', 2)
        WHEN e.idempotency_key LIKE 'wallet-funding:%%:%%'
            -- what follows wallet-funding:<partner>: (string functions, not a regex)
            THEN substr(substr(e.idempotency_key, 16),
                        strpos(substr(e.idempotency_key, 16), ':') + 1)
    END)"""


@dataclass
class MatchResult:
    bank_account_id: int
    matched: dict[str, int] = field(default_factory=dict)  # rule -> matches made
    lines_left: int = 0
    postings_left: int = 0
    suggested_fundings: int = 0


def window_days() -> int:
    return int(getattr(settings, "RECONCILIATION_DATE_WINDOW_DAYS", 3))


def _sources(*, until: str | None) -> tuple[str, str]:
    """The account's unmatched lines and postings with their keys normalised, as two
    SELECTs. The postings' raw values are read in an inner query (OFFSET 0 keeps the planner
    from inlining them) so each expression runs once per row, not once per use."""
    line_until = "AND coalesce(l.value_date, l.booking_date) <= %(until)s" if until else ""
    posting_until = "AND (e.effective_at AT TIME ZONE 'UTC')::date <= %(until)s" if until else ""
    # The lines' references were normalised as they were stored (generated columns).
    lines = f"""
        SELECT l.id, l.amount_minor AS amount, l.currency::text AS currency,
               coalesce(l.value_date, l.booking_date) AS day, lower(l.uetr) AS uetr,
               l.end_to_end_id_norm AS e2e, l.bank_reference_norm AS bankref,
               l.remittance_info_norm AS remit
        FROM integrations_statementline l
        JOIN integrations_bankstatement s ON s.id = l.statement_id
        WHERE s.bank_account_id = %(account)s {line_until}
          AND NOT EXISTS (SELECT 1 FROM integrations_reconmatchitem i
                          WHERE i.statement_line_id = l.id AND i.active)
        """  # noqa: S608 (fixed SQL fragments, values as parameters)
    postings = f"""
        SELECT id, amount, currency, day, uetr, {_NORM.format("e2e")} AS e2e,
               {_NORM.format("ref")} AS ref, {_NORM.format("batch")} AS batch
        FROM (SELECT p.id,
                     CASE WHEN a.type IN ('asset', 'expense')
                          THEN p.debit_minor - p.credit_minor
                          ELSE p.credit_minor - p.debit_minor END AS amount,
                     p.currency::text AS currency,
                     (e.effective_at AT TIME ZONE 'UTC')::date AS day,
                     lower(coalesce(e.metadata->>'uetr', '')) AS uetr,
                     e.metadata->>'end_to_end_id' AS e2e, {_OUR_REF} AS ref,
                     e.metadata->>'batch_reference' AS batch
              FROM ledger_posting p
              JOIN ledger_account a ON a.id = p.account_id
              JOIN ledger_journalentry e ON e.id = p.entry_id
              WHERE p.account_id = %(account_id)s {posting_until}
                AND NOT EXISTS (SELECT 1 FROM integrations_reconmatchitem i
                                WHERE i.posting_id = p.id AND i.active)
              OFFSET 0) raw"""  # noqa: S608 (fixed SQL fragments, values as parameters)
    return lines, postings


def _exact_joins(l_table: str, p_table: str, *, same_amount: bool) -> list[str]:
    """The four identifier joins (line_id, posting_id, l_amount, p_amount), each with both
    sides' empty keys filtered out before the hash is built."""
    amount = "p.amount = l.amount" if same_amount else "p.amount <> l.amount"
    joins = [("uetr", "uetr"), ("e2e", "ref"), ("e2e", "e2e"), ("bankref", "ref")]
    return [
        f"""SELECT l.id AS line_id, p.id AS posting_id, l.amount AS l_amount,
                   p.amount AS p_amount
            FROM {l_table} l JOIN {p_table} p
              ON p.{p_key} = l.{l_key} AND p.currency = l.currency AND {amount}
            WHERE l.{l_key} <> '' AND p.{p_key} <> ''"""  # noqa: S608 (fixed fragments)
        for l_key, p_key in joins
    ]


def _prepare(cursor: Any, *, account: BankAccount, until: str | None) -> None:
    """Two temporary tables: the account's unmatched lines and unmatched postings, their
    keys normalised once."""
    # The ledger account's id first: filtering postings on it (not on the joined code) gives
    # the planner the account's real share of the postings, so it hash-joins the entries
    # instead of probing them one by one (3 s instead of 0.5 s at 100,000).
    cursor.execute("SELECT id FROM ledger_account WHERE code = %s", [account.ledger_account_code])
    row = cursor.fetchone()
    account_id = row[0] if row else None
    lines, postings = _sources(until=until)
    params = {"account": account.pk, "account_id": account_id, "until": until}
    cursor.execute(f"CREATE TEMP TABLE _recon_l ON COMMIT DROP AS {lines}", params)
    cursor.execute(f"CREATE TEMP TABLE _recon_p ON COMMIT DROP AS {postings}", params)
    cursor.execute("ANALYZE _recon_l; ANALYZE _recon_p")


def _drop_matched(cursor: Any, *, pairs: str, made: int) -> None:
    """Take what `pairs` (line_id, posting_id) used out of the unmatched tables. When most
    of a table goes (the first exact pass), the rest is copied into a new table instead:
    a DELETE marks every matched row (seconds at 1,000,000), the copy writes only the rest."""
    for table, column in (("_recon_l", "line_id"), ("_recon_p", "posting_id")):
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        rows = float(cursor.fetchone()[0])
        if made * 2 > rows:
            # NOT IN over a non-null id column: one hash of the used ids, probed per row (the
            # planner's merge anti join sorted both tables: twice as long).
            cursor.execute(
                f"""CREATE TEMP TABLE {table}_left ON COMMIT DROP AS SELECT * FROM {table} t
                    WHERE t.id NOT IN (SELECT x.{column} FROM {pairs} x);
                    DROP TABLE {table}; ALTER TABLE {table}_left RENAME TO {table}"""  # noqa: S608
            )
        else:
            cursor.execute(
                f"DELETE FROM {table} t USING {pairs} x WHERE t.id = x.{column}"  # noqa: S608
            )


def _record(cursor, *, account_id: int, actor_label: str) -> int:  # type: ignore[no-untyped-def]
    """Turn `_recon_sel` (grp, line_id | posting_id, amount, rule, confidence) into matches
    and items, and drop what it used from the unmatched tables. Returns matches made."""
    cursor.execute(
        """
        CREATE TEMP TABLE _recon_g ON COMMIT DROP AS
        SELECT grp, nextval(%s::regclass) AS match_id,
               min(rule) AS rule, min(confidence) AS confidence
        FROM (SELECT DISTINCT grp, rule, confidence FROM _recon_sel) s GROUP BY grp
        """,
        [_match_sequence(cursor)],
    )
    cursor.execute(
        """
        INSERT INTO integrations_reconmatch
            (id, bank_account_id, rule, confidence, created_at, created_by, note, undone_by)
        SELECT match_id, %s, rule, confidence, now(), %s, '', '' FROM _recon_g
        """,
        [account_id, actor_label],
    )
    made = cursor.rowcount
    cursor.execute(
        """
        INSERT INTO integrations_reconmatchitem
            (match_id, statement_line_id, posting_id, amount_minor, active, rule, created_by,
             created_at, undone_by)
        SELECT g.match_id, s.line_id, s.posting_id, s.amount, true, '', '', now(), ''
        FROM _recon_sel s JOIN _recon_g g USING (grp)
        """
    )
    cursor.execute("DELETE FROM _recon_l WHERE id IN (SELECT line_id FROM _recon_sel)")
    cursor.execute("DELETE FROM _recon_p WHERE id IN (SELECT posting_id FROM _recon_sel)")
    cursor.execute("DROP TABLE _recon_g; DROP TABLE _recon_sel")
    if made:
        # Fresh statistics for the next rule: with the old row counts the planner picks a
        # nested loop over what is left (seconds instead of milliseconds).
        cursor.execute("ANALYZE _recon_l; ANALYZE _recon_p")
    return made


def _match_sequence(cursor) -> str:  # type: ignore[no-untyped-def]
    # Resolved once per call, not per row (pg_get_serial_sequence in the SELECT list is
    # evaluated for every group).
    cursor.execute("SELECT pg_get_serial_sequence('integrations_reconmatch', 'id')")
    return str(cursor.fetchone()[0])


def _one_to_one(
    cursor: Any, *, actor_label: str, candidates: str, rule: str, params: dict[str, int]
) -> int:
    """Pairs from `candidates` (line_id, posting_id, l_amount, p_amount, confidence, via)
    kept only when each is the other's first choice: a one-to-one assignment in one
    statement (of a pair listed twice, `via` lets only the first copy be both sides' first).
    Each pair is a whole match in one item row (both sides, its rule and confidence; no
    `ReconMatch` row): returns the matches made."""
    cursor.execute(
        f"""
        CREATE TEMP TABLE _recon_pairs ON COMMIT DROP AS
        SELECT line_id, posting_id, l_amount, p_amount, confidence
        FROM (
            SELECT c.*,
                   row_number() OVER (PARTITION BY line_id
                                      ORDER BY confidence DESC, posting_id, via) AS line_rank,
                   row_number() OVER (PARTITION BY posting_id
                                      ORDER BY confidence DESC, line_id, via) AS posting_rank
            FROM ({candidates}) c
        ) ranked WHERE line_rank = 1 AND posting_rank = 1
        """,  # noqa: S608 (the rule's fixed SQL, values as parameters)
        params,
    )
    made = int(cursor.rowcount)
    if made:
        cursor.execute(
            """
            INSERT INTO integrations_reconmatchitem
                (statement_line_id, posting_id, amount_minor, posting_amount_minor, active,
                 rule, confidence, created_by, created_at, undone_by)
            SELECT line_id, posting_id, l_amount, p_amount, true, %s, confidence, %s, now(), ''
            FROM _recon_pairs
            """,
            [rule, actor_label],
        )
        _drop_matched(cursor, pairs="_recon_pairs", made=made)
        cursor.execute("ANALYZE _recon_l; ANALYZE _recon_p")
    cursor.execute("DROP TABLE _recon_pairs")
    return made


def _exact(*, same_amount: bool) -> str:
    """Candidates on an identifier: with the same amount (confidence 100), or, after batch
    and split had their turn, with a different one (60: the amount check lists those).
    A pair found by two identifiers comes twice (UNION ALL: no hash of every pair to remove
    copies); `via` (which identifier) ranks the copies, so only the first can be chosen."""
    confidence = 100 if same_amount else 60
    return "\nUNION ALL\n".join(
        f"SELECT *, {confidence} AS confidence, {via} AS via FROM ({join}) j"  # noqa: S608
        for via, join in enumerate(_exact_joins("_recon_l", "_recon_p", same_amount=same_amount))
    )


# The date window as an equality: each line is probed once per day of the window
# (generate_series), so the join hashes on amount, currency and day instead of pairing every
# line with every posting of its amount and filtering on the distance (at 100,000s of lines a
# common amount has thousands of postings).
_REFERENCE_AMOUNT = """
    SELECT l.id AS line_id, p.id AS posting_id, l.amount AS l_amount, p.amount AS p_amount,
           (90 - 5 * abs(d.offset_days))::int AS confidence, 0 AS via
    FROM _recon_l l
    CROSS JOIN generate_series(-%(window)s, %(window)s) AS d(offset_days)
    JOIN _recon_p p ON p.amount = l.amount AND p.currency = l.currency
                   AND p.day = l.day + d.offset_days
    WHERE p.ref <> '' AND (l.remit <> '' OR l.e2e <> '' OR l.bankref <> '')
      AND (strpos(l.remit, p.ref) > 0 OR l.e2e = p.ref OR l.bankref = p.ref)
"""


def _batch(cursor, *, window: int) -> None:  # type: ignore[no-untyped-def]
    """One line paying several postings that share a batch reference (a batch payout)."""
    cursor.execute(
        """
        CREATE TEMP TABLE _recon_sel ON COMMIT DROP AS
        WITH batches AS (
            SELECT batch, currency, sum(amount) AS total, max(day) AS day, count(*) AS n
            FROM _recon_p WHERE batch <> '' GROUP BY batch, currency HAVING count(*) > 1
        ), pairs AS (
            SELECT DISTINCT ON (b.batch, b.currency) l.id AS line_id, l.amount, b.batch,
                   b.currency
            FROM batches b JOIN _recon_l l ON l.amount = b.total AND l.currency = b.currency
            WHERE (l.e2e = b.batch OR l.bankref = b.batch OR strpos(l.remit, b.batch) > 0)
              AND abs(l.day - b.day) <= %(window)s
            ORDER BY b.batch, b.currency, l.id
        ), chosen AS (
            SELECT DISTINCT ON (line_id) * FROM pairs ORDER BY line_id, batch
        )
        SELECT c.line_id AS grp, c.line_id, NULL::bigint AS posting_id, c.amount,
               'batch'::text AS rule, 90 AS confidence FROM chosen c
        UNION ALL
        SELECT c.line_id, NULL, p.id, p.amount, 'batch', 90
        FROM chosen c JOIN _recon_p p ON p.batch = c.batch AND p.currency = c.currency
        """,
        {"window": window},
    )


def _split(cursor, *, window: int) -> None:  # type: ignore[no-untyped-def]
    """Several lines with one reference paying one posting (a split funding)."""
    cursor.execute(
        """
        CREATE TEMP TABLE _recon_sel ON COMMIT DROP AS
        WITH keyed AS (
            SELECT id, amount, currency, day,
                   coalesce(nullif(e2e, ''), nullif(bankref, ''), remit) AS k
            FROM _recon_l
        ), groups AS (
            SELECT k, currency, sum(amount) AS total, min(day) AS first_day,
                   max(day) AS last_day
            FROM keyed WHERE k <> '' GROUP BY k, currency HAVING count(*) > 1
        ), pairs AS (
            SELECT DISTINCT ON (g.k, g.currency) g.k, g.currency, p.id AS posting_id, p.amount
            FROM groups g JOIN _recon_p p ON p.amount = g.total AND p.currency = g.currency
            WHERE p.ref <> '' AND (g.k = p.ref OR strpos(g.k, p.ref) > 0)
              AND p.day BETWEEN g.first_day - %(window)s AND g.last_day + %(window)s
            ORDER BY g.k, g.currency, p.id
        ), chosen AS (
            SELECT DISTINCT ON (posting_id) * FROM pairs ORDER BY posting_id, k
        )
        SELECT c.posting_id AS grp, NULL::bigint AS line_id, c.posting_id, c.amount,
               'split'::text AS rule, 85 AS confidence FROM chosen c
        UNION ALL
        SELECT c.posting_id, k.id, NULL, k.amount, 'split', 85
        FROM chosen c JOIN keyed k ON k.k = c.k AND k.currency = c.currency
        """,
        {"window": window},
    )


def _suggest_fundings(cursor, *, account: BankAccount) -> int:  # type: ignore[no-untyped-def]
    """Money in left unmatched on a funding account: suggested wallet fundings, with the
    profile named in the remittance information ("profile 42", "P-42") when it exists."""
    if not account.ledger_account_code.startswith("funding:"):
        return 0
    cursor.execute(
        r"""
        INSERT INTO integrations_suggestedfunding
            (statement_line_id, profile_id, status, entry_id, decided_by, decided_at, note,
             created_at)
        SELECT l.id, pr.id, 'suggested', NULL, '', NULL, '', now()
        FROM _recon_l u
        JOIN integrations_statementline l ON l.id = u.id
        LEFT JOIN customers_profile pr ON pr.id = nullif(
            substring(l.remittance_info from %s), '')::bigint
        WHERE u.amount > 0
        ON CONFLICT (statement_line_id) DO NOTHING
        """,
        [_PROFILE_IN_REMITTANCE],
    )
    return int(cursor.rowcount)


# "profile 42", "Profile: 42", "P-42": the id a customer is told to quote when paying in.
_PROFILE_IN_REMITTANCE = r"(?:[Pp][Rr][Oo][Ff][Ii][Ll][Ee]|\m[Pp])[ :#-]*([0-9]{1,12})\M"


def _temp_buffers(cursor: Any) -> None:
    """Room for the temporary tables in the backend's memory (the default 8 MB holds a tenth
    of them at 100,000 lines: the rest goes through temporary files). PostgreSQL sizes the
    pool at a session's first use of a temporary table and refuses a change afterwards: when
    refused, the session keeps the pool it has (a savepoint keeps the refusal harmless)."""
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL temp_buffers = '256MB'")
    except DatabaseError:
        pass  # this session already used temporary tables: its pool stays as sized


def statement_lines_match(
    *, bank_account_id: int, actor_label: str, until: str | None = None
) -> MatchResult:
    """Match what is unmatched on one bank account (lines and postings dated up to `until`,
    an ISO date, when given). Runs for one account are serialised by a row lock."""
    window = window_days()
    result = MatchResult(bank_account_id=bank_account_id)
    with transaction.atomic():
        # Two runs for one account would both see a line as unmatched; the lock makes the
        # second wait and then see the first's matches.
        account = BankAccount.objects.select_for_update().get(pk=bank_account_id)
        with connection.cursor() as cursor:
            # The match tables' foreign keys are checked as each statement ends, not queued
            # for the commit (Django makes them INITIALLY DEFERRED): a queue of 100,000s of
            # pending checks costs more than the checks. Only these constraints.
            cursor.execute(
                "SELECT string_agg(quote_ident(conname), ', ') FROM pg_constraint"
                " WHERE contype = 'f' AND conrelid IN ('integrations_reconmatchitem'::regclass,"
                " 'integrations_reconmatch'::regclass)"
            )
            (fks,) = cursor.fetchone()
            if fks:
                cursor.execute(f"SET CONSTRAINTS {fks} IMMEDIATE")
            # Hash joins and sorts in memory (the default 4 MB spills the 100,000s of pairs to
            # disk), no JIT: compiling costs more than it saves on these one-shot
            # statements, and a small sample when the temporary tables are analysed (row
            # counts and a rough shape are all the planner needs from them). No merge joins:
            # with the small sample the planner sorted both sides of the reference rule's
            # join (70,000 day probes at 100,000 lines) where one hash of the postings does
            # (every join here is on equality and fits work_mem). SET LOCAL: only this
            # transaction.
            cursor.execute(
                "SET LOCAL work_mem = '256MB'; SET LOCAL jit = off;"
                " SET LOCAL default_statistics_target = 10; SET LOCAL enable_mergejoin = off"
            )
            _temp_buffers(cursor)
            _prepare(cursor, account=account, until=until)
            # exact ids and references: a few passes, each one-to-one; a pass takes only
            # mutual first choices, so the next pass sees what the previous one freed.
            record = functools.partial(_record, cursor, account_id=account.pk,
                                       actor_label=actor_label)  # fmt: skip

            def one_to_one(rule: str, sql: str) -> None:
                for _pass in range(3):
                    made = _one_to_one(
                        cursor, actor_label=actor_label, candidates=sql, rule=rule,
                        params={"window": window},
                    )  # fmt: skip
                    result.matched[rule] = result.matched.get(rule, 0) + made
                    if not made:
                        break

            one_to_one("exact_id", _exact(same_amount=True))
            _batch(cursor, window=window)
            result.matched["batch"] = record()
            _split(cursor, window=window)
            result.matched["split"] = record()
            one_to_one("exact_id", _exact(same_amount=False))
            one_to_one("reference_amount", _REFERENCE_AMOUNT)
            result.suggested_fundings = _suggest_fundings(cursor, account=account)
            cursor.execute("SELECT count(*) FROM _recon_l")
            result.lines_left = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM _recon_p")
            result.postings_left = cursor.fetchone()[0]
            cursor.execute("DROP TABLE _recon_l; DROP TABLE _recon_p")
    return result
