"""Daily journals for the accounting sync: `integrations.connectors.accounting.facts.
daily_movements` over a year with 10,000 entries, then with 100,000. PostgreSQL does the
summing (one GROUPING SETS query) and rows stream through a server-side cursor, so Python's
peak memory while reading stays flat as the entries grow (target: ratio < 1.5) and it is one
query either way.

Entries are bulk-inserted in SQL (balanced wallet fundings in GBP and EUR spread over 365
days, balance rows updated in the same transaction, as bench.ledger_balance_read does);
`ledger_verify` must pass afterwards.
"""

from __future__ import annotations

import datetime as dt
import sys
import tracemalloc

from bench.common import clock, django_setup, migrate, scratch_database

YEAR_START = dt.date(2025, 1, 1)
YEAR_END = dt.date(2025, 12, 31)


def _bulk_fundings(accounts: dict[str, tuple[int, int]], first: int, count: int) -> None:
    """`count` entries numbered from `first`: Dr funding / Cr wallet, GBP and EUR alternating,
    at g seconds and g days into the year."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_new ON COMMIT DROP AS"
            " WITH e AS (INSERT INTO ledger_journalentry"
            "  (idempotency_key, memo, effective_at, created_at, metadata)"
            "  SELECT 'bench-daily-' || g, 'bench daily',"
            "   timestamptz '2025-01-01 00:00+00' + (g %% 365) * interval '1 day'"
            "    + (g %% 86400) * interval '1 second', now(), '{}'"
            "  FROM generate_series(%s, %s) g RETURNING id) SELECT id FROM e",
            [first, first + count - 1],
        )
        for parity, (currency, (funding, wallet)) in enumerate(sorted(accounts.items())):
            cursor.execute(
                "INSERT INTO ledger_posting (entry_id, account_id, currency, debit_minor,"
                " credit_minor) SELECT id, %s, %s, 100 + id %% 1000, 0 FROM bench_new"
                " WHERE id %% 2 = %s"
                " UNION ALL SELECT id, %s, %s, 0, 100 + id %% 1000 FROM bench_new"
                " WHERE id %% 2 = %s",
                [funding, currency, parity, wallet, currency, parity],
            )
            for account_id, column in ((funding, "debits_minor"), (wallet, "credits_minor")):
                cursor.execute(
                    f"UPDATE ledger_accountbalance SET {column} = {column} +"
                    " (SELECT coalesce(sum(100 + id %% 1000), 0) FROM bench_new"
                    "  WHERE id %% 2 = %s), version = version + 1 WHERE account_id = %s",
                    [parity, account_id],
                )


def _read_year() -> tuple[float, int, int, int]:
    """(seconds, peak bytes allocated while reading, movements, queries) for one pass."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrations.connectors.accounting.facts import daily_movements

    tracemalloc.start()
    t = clock()
    with CaptureQueriesContext(connection) as queries:
        movements = sum(1 for _ in daily_movements(start=YEAR_START, end=YEAR_END))
    seconds = clock() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak, movements, len(queries)


def main() -> int:
    print("== daily_movements over a year: 10,000 entries vs 100,000")
    with scratch_database("bench_daily_movements") as url:
        django_setup(url)
        migrate()
        from django.db import connection

        from ledger import chart
        from ledger.selectors import ledger_verify_report

        accounts = {
            currency: (
                chart.funding_partner_account(partner="bench", currency=currency).pk,
                chart.wallet_account(owner="profile:bench", currency=currency).pk,
            )
            for currency in ("EUR", "GBP")
        }
        _bulk_fundings(accounts, 1, 10_000)
        small = _read_year()
        _bulk_fundings(accounts, 10_001, 90_000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE ledger_journalentry; ANALYZE ledger_posting")
        large = _read_year()
        report = ledger_verify_report()
    for label, (seconds, peak, movements, queries) in (("10,000", small), ("100,000", large)):
        print(
            f"   {label:>7} entries: {seconds * 1000:8.1f} ms, peak {peak / 1024:7.1f} KiB, "
            f"{movements} day-currency movements, {queries} query"
        )
    print(f"   ledger_verify afterwards: {'OK' if report.ok else report.discrepancies[:3]}")
    ratio = large[1] / small[1]
    verdict = "OK" if ratio < 1.5 and large[3] == small[3] == 1 and report.ok else "MISSED"
    print(f"   memory ratio {ratio:.2f} (flat: < 1.5), one query each: {verdict}")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
