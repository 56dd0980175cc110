"""Reconciliation matching: N statement lines against N ledger records
(`integrations.reconciliation.matching.statement_lines_match`), beside a plain SQL hash join
of the same two tables on the same keys in the same run. Then the same at N/10 to show
Python's memory is flat in the number of lines (the matcher never loads lines).

N defaults to 100,000: `python -m bench.reconciliation_match [N]` (or `RECON_BENCH_N=N`;
`RECON_BENCH_STATEMENTS=1` also prints each of the matcher's statements over 20 ms),
e.g. `python -m bench.reconciliation_match 1000000` for the issue's million. Besides Python's
peak (tracemalloc) it prints the PostgreSQL side's working set: the matcher's temporary
tables at their largest and `work_mem`, the bound of each hash and sort. Target: the
matcher at least 0.5 of the join's speed (ratio = join seconds / match seconds), Python
peak memory ratio < 1.5.

It also times the join's own pairs inserted as match rows, alone (rolled back): the durable
write any matcher that keeps one row per match pays, so join / that is the ceiling of the
ratio for that design (0.47 at 1,000,000 on an idle machine: docs/reconciliation.md).

Ledger records are bulk-inserted in SQL (balanced wallet fundings, balance rows updated in
the same transaction, as bench.accounting_daily_movements does); 90 % of the lines carry
the end-to-end id, 10 % only name the reference in the remittance information (the second
rule), so both rules run. `ledger_verify` must pass afterwards.
"""

from __future__ import annotations

import os
import sys
import tracemalloc

from bench.common import clock, django_setup, migrate, scratch_database

NORM = "upper(regexp_replace({0}, '[^A-Za-z0-9]', '', 'g'))"


def _seed(*, tag: str, n: int) -> int:
    """N fundings on funding:<tag>:GBP and N lines on a bank account mirroring it; returns
    the bank account id."""
    from django.db import connection, transaction

    from integrations.reconciliation.models import BankAccount, BankStatement
    from ledger import chart

    funding = chart.funding_partner_account(partner=tag, currency="GBP").pk
    wallet = chart.wallet_account(owner=f"profile:{tag}", currency="GBP").pk
    account = BankAccount.objects.create(
        name=tag, account_number=f"GB{tag}", currency="GBP",
        ledger_account_code=f"funding:{tag}:GBP",
    )  # fmt: skip
    statement = BankStatement.objects.create(
        bank_account=account, format="csv", statement_id=tag, checksum=tag,
        file_name="bench.csv", imported_by="bench",
    )  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_new ON COMMIT DROP AS"
            " WITH e AS (INSERT INTO ledger_journalentry"
            "  (idempotency_key, memo, effective_at, created_at, metadata)"
            "  SELECT 'wallet-funding:' || %s || ':REF-' || g, 'bench funding',"
            "   timestamptz '2026-10-01 12:00+00' + (g %% 30) * interval '1 day', now(), '{}'"
            "  FROM generate_series(1, %s) g RETURNING id, idempotency_key)"
            " SELECT id, split_part(idempotency_key, ':', 3) AS ref,"
            "  split_part(split_part(idempotency_key, ':', 3), '-', 2)::int AS g FROM e",
            [tag, n],
        )
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, currency, debit_minor,"
            " credit_minor) SELECT id, %s, 'GBP', 100 + g %% 5000, 0 FROM bench_new"
            " UNION ALL SELECT id, %s, 'GBP', 0, 100 + g %% 5000 FROM bench_new",
            [funding, wallet],
        )
        for account_id, column in ((funding, "debits_minor"), (wallet, "credits_minor")):
            cursor.execute(
                f"UPDATE ledger_accountbalance SET {column} = {column} +"
                " (SELECT coalesce(sum(100 + g %% 5000), 0) FROM bench_new),"
                " version = version + 1 WHERE account_id = %s",
                [account_id],
            )
        cursor.execute(
            "INSERT INTO integrations_statementline (statement_id, position, value_date,"
            " booking_date, amount_minor, direction, currency, bank_reference, end_to_end_id,"
            " uetr, counterparty_name, counterparty_account, remittance_info, raw)"
            " SELECT %s, g, date '2026-10-01' + (g %% 30) + (g %% 2),"
            "  date '2026-10-01' + (g %% 30) + (g %% 2), 100 + g %% 5000, 'credit', 'GBP', '',"
            "  CASE WHEN g %% 10 = 0 THEN '' ELSE ref END, '', '', '',"
            "  CASE WHEN g %% 10 = 0 THEN 'invoice ' || ref ELSE '' END, ''"
            " FROM bench_new",
            [statement.pk],
        )
        cursor.execute("ANALYZE integrations_statementline; ANALYZE ledger_posting")
    return int(account.pk)


def _join(select: str) -> str:
    """The baseline's join (parameters: the ledger account's code twice)."""
    return f"""
        SELECT {select} FROM integrations_statementline l
        JOIN integrations_bankstatement s ON s.id = l.statement_id
        JOIN integrations_bankaccount b ON b.id = s.bank_account_id
        JOIN (SELECT p.id, p.currency, p.debit_minor - p.credit_minor AS amount,
                     {NORM.format("split_part(e.idempotency_key, ':', 3)")} AS ref
              FROM ledger_posting p
              JOIN ledger_account a ON a.id = p.account_id
              JOIN ledger_journalentry e ON e.id = p.entry_id
              WHERE a.code = %s) p
          ON p.ref = l.end_to_end_id_norm AND p.currency = l.currency
        WHERE b.ledger_account_code = %s"""


def _hash_join(*, tag: str) -> tuple[float, int]:
    """The same tables, the same keys (normalised end-to-end id = our reference, currency),
    one plain hash join counting pairs: what any matcher must at least read. The line's side
    is the normalised column stored at import, as the matcher reads it; the ledger's is
    normalised here, as the matcher does."""
    from django.db import connection

    sql = _join("count(*)")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_mergejoin = off; SET LOCAL enable_nestloop = off")
        t = clock()
        cursor.execute(sql, [f"funding:{tag}:GBP", f"funding:{tag}:GBP"])
        (pairs,) = cursor.fetchone()
        return clock() - t, int(pairs)


def _record_floor(*, tag: str) -> tuple[float, int]:
    """What recording the join's pairs alone costs: the same pairs (put in a temporary table
    first, untimed) inserted as one-to-one match rows, with the item table's indexes,
    constraints and key check and the matcher's session settings; rolled back. Any matcher
    that keeps one durable row per match pays at least this, so join / this is the
    ceiling of the speed ratio for that design."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SET LOCAL work_mem = '256MB'; SET LOCAL jit = off; SET LOCAL enable_mergejoin = off"
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_pairs ON COMMIT DROP AS "
            + _join(
                "l.id AS line_id, p.id AS posting_id, l.amount_minor AS l_amount,"
                " p.amount AS p_amount"
            ),
            [f"funding:{tag}:GBP", f"funding:{tag}:GBP"],
        )
        cursor.execute("ANALYZE bench_pairs")
        t = clock()
        cursor.execute(
            """INSERT INTO integrations_reconmatchitem
                (statement_line_id, posting_id, amount_minor, posting_amount_minor, active,
                 rule, confidence, created_by, created_at, undone_by)
            SELECT line_id, posting_id, l_amount, p_amount, true, 'exact_id', 100, 'bench',
                   now(), ''
            FROM bench_pairs"""
        )
        seconds, rows = clock() - t, int(cursor.rowcount)
        transaction.set_rollback(True)
    return seconds, rows


def _match(account_id: int) -> tuple[float, int, dict[str, int], int, int, int]:
    """Seconds, Python peak bytes, matches by rule, lines left, the temporary tables' bytes
    at their largest (right after they are filled) and the temporary file bytes PostgreSQL
    spilled (sorts and hashes beyond work_mem) during the match."""
    from django.db import connection

    from integrations.reconciliation.matching import statement_lines_match

    temp_tables = [0]
    # Statement timings only when asked: kept in Python, they would count in its peak.
    statements: list[tuple[float, str]] | None = (
        [] if os.environ.get("RECON_BENCH_STATEMENTS") else None
    )

    def measure(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = clock()
        done = execute(sql, params, many, context)
        if statements is not None:
            statements.append((clock() - started, " ".join(sql.split())[:100]))
        if sql.startswith("ANALYZE _recon_l") and not temp_tables[0]:
            context["cursor"].execute(
                "SELECT pg_total_relation_size('_recon_l') + pg_total_relation_size('_recon_p')"
            )
            temp_tables[0] = int(context["cursor"].fetchone()[0])
        return done

    def spilled() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()"
            )
            return int(cursor.fetchone()[0])

    before = spilled()
    tracemalloc.start()
    t = clock()
    with connection.execute_wrapper(measure):
        result = statement_lines_match(bank_account_id=account_id, actor_label="bench")
    seconds = clock() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if statements is not None:
        print(f"   statements of the match of account {account_id} over 20 ms:")
        for took, sql in statements:
            if took > 0.02:
                print(f"   {took:8.3f} s  {sql}")
    return seconds, peak, result.matched, result.lines_left, temp_tables[0], spilled() - before


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("RECON_BENCH_N", "100000"))
    print(f"== reconciliation matching: {n:,} lines against {n:,} ledger records")
    with scratch_database("bench_recon_match") as url:
        django_setup(url)
        migrate()
        from django.db import transaction

        from ledger.selectors import ledger_verify_report

        small_account = _seed(tag="small", n=max(n // 10, 1))
        large_account = _seed(tag="large", n=n)
        _seed(tag="floor", n=n)
        with transaction.atomic():
            _hash_join(tag="large")  # warm the cache for both contenders
            join_seconds, pairs = _hash_join(tag="large")
        small = _match(small_account)
        large = _match(large_account)
        # After the match (its dead rows would otherwise sit in the indexes it writes).
        floor_seconds, floor_rows = _record_floor(tag="floor")
        report = ledger_verify_report()
    seconds, peak, matched, left, temp_bytes, spill = large
    mib = 1024 * 1024
    print(f"   plain hash join (end-to-end id = reference): {join_seconds:8.2f} s, {pairs:,} pairs")
    print(
        f"   statement_lines_match:                        {seconds:8.2f} s, matched {matched},"
        f" {left} lines left"
    )
    print(
        f"   memory: Python peak {peak / 1024:.0f} KiB; PostgreSQL temporary tables "
        f"{temp_bytes / mib:.1f} MiB, spilled to temporary files {spill / mib:.1f} MiB "
        f"(work_mem 256MB per hash or sort)"
    )
    print(
        f"   at {max(n // 10, 1):,}: {small[0]:.2f} s, Python peak {small[1] / 1024:.0f} KiB, "
        f"temporary tables {small[4] / mib:.1f} MiB"
    )
    print(
        f"   the join's pairs recorded as match rows, alone: {floor_seconds:8.2f} s, "
        f"{floor_rows:,} rows (join/this {join_seconds / floor_seconds:.2f}: the ceiling of the "
        f"ratio for one durable row per match)"
    )
    ratio = join_seconds / seconds
    memory_ratio = peak / small[1]
    print(f"   ledger_verify afterwards: {'OK' if report.ok else report.discrepancies[:3]}")
    verdict = "OK" if ratio >= 0.5 and memory_ratio < 1.5 and left == 0 and report.ok else "MISSED"
    print(
        f"   speed ratio join/match {ratio:.2f} (target >= 0.5), Python memory ratio "
        f"{memory_ratio:.2f} (flat: < 1.5): {verdict}"
    )
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
