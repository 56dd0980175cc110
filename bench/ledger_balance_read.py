"""(c) Median time to read a balance through `ledger.selectors.account_balance` after
100,000 postings on the account, against the same read after 1,000: the materialised
balance makes it constant (target < 2 ms, ratio ~1). For contrast it also prints the
median of `account_balance_as_of`, which sums the postings and so grows with them.

The first 1,000 postings go through `entry_post`; the next 99,000 are bulk-inserted in SQL
(balanced entries, checked by the deferred trigger at commit, balance row updated in the
same transaction) to keep the benchmark short. `ledger_verify` must pass afterwards.
"""

from __future__ import annotations

import sys

from bench.common import clock, django_setup, median_ms, migrate, scratch_database

READS = 2000
AS_OF_READS = 20


def _median_read(account_id: int) -> tuple[float, float]:
    from django.utils import timezone

    from ledger.selectors import account_balance, account_balance_as_of

    for _ in range(50):
        account_balance(account_id=account_id)
    samples = []
    for _ in range(READS):
        t = clock()
        account_balance(account_id=account_id)
        samples.append(clock() - t)
    as_of = []
    now = timezone.now()
    for _ in range(AS_OF_READS):
        t = clock()
        account_balance_as_of(account_id=account_id, at=now)
        as_of.append(clock() - t)
    return median_ms(samples), median_ms(as_of)


def _bulk_postings(wallet_id: int, counter_id: int, entries: int) -> None:
    """`entries` entries of 1 minor unit (wallet debit-side counterpart) in one transaction."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_new ON COMMIT DROP AS"
            " WITH e AS (INSERT INTO ledger_journalentry"
            "  (idempotency_key, memo, effective_at, created_at, metadata)"
            "  SELECT 'bench-bulk-' || g, 'bench bulk', now(), now(), '{}'"
            "  FROM generate_series(1, %s) g RETURNING id) SELECT id FROM e",
            [entries],
        )
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, currency, debit_minor,"
            " credit_minor) SELECT id, %s, 'GBP', 0, 1 FROM bench_new"
            " UNION ALL SELECT id, %s, 'GBP', 1, 0 FROM bench_new",
            [wallet_id, counter_id],
        )
        cursor.execute(
            "UPDATE ledger_accountbalance SET credits_minor = credits_minor + %s,"
            " version = version + 1 WHERE account_id = %s",
            [entries, wallet_id],
        )
        cursor.execute(
            "UPDATE ledger_accountbalance SET debits_minor = debits_minor + %s,"
            " version = version + 1 WHERE account_id = %s",
            [entries, counter_id],
        )


def main() -> int:
    print("== (c) median balance read after 100,000 postings vs after 1,000")
    with scratch_database("bench_ledger_read") as url:
        django_setup(url)
        migrate()
        from ledger import chart
        from ledger.selectors import ledger_verify_report
        from ledger.services import PostingSpec, entry_post

        wallet = chart.wallet_account(owner="profile:bench-read", currency="GBP")
        funding = chart.funding_partner_account(partner="bench-read", currency="GBP")
        for n in range(1_000):
            entry_post(
                idempotency_key=f"bench-read-{n}",
                postings=[
                    PostingSpec.debit(funding.pk, 1, "GBP"),
                    PostingSpec.credit(wallet.pk, 1, "GBP"),
                ],
                memo="bench",
            )
        small, small_as_of = _median_read(wallet.pk)
        _bulk_postings(wallet.pk, funding.pk, 99_000)
        large, large_as_of = _median_read(wallet.pk)
        report = ledger_verify_report()
    print(f"   baseline after 1,000 postings: account_balance median {small:.3f} ms")
    print(f"   after 100,000 postings:        account_balance median {large:.3f} ms")
    print(
        f"   (contrast, sum of postings: account_balance_as_of {small_as_of:.2f} ms -> "
        f"{large_as_of:.2f} ms)"
    )
    print(f"   ledger_verify afterwards: {'OK' if report.ok else report.discrepancies[:3]}")
    ratio = large / small
    verdict = "OK" if large < 2.0 and ratio < 1.5 and report.ok else "MISSED"
    print(f"   ratio {ratio:.2f} (constant: < 1.5) and < 2 ms: {verdict}")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
