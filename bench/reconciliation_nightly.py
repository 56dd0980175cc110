"""The nightly reconciliation run (`integrations.reconciliation.runs.reconciliation_run`) for
a day of N completed transfers: its time and query count, beside a same-run baseline that
reads the same rows once (the partner report's lines hash-joined with the ledger's payout
postings on the transfer reference, and the transfers with their last transition).

N defaults to 100,000 (the issue's figure): `python -m bench.reconciliation_nightly [N]` (or
RECON_NIGHTLY_BENCH_N), e.g. `python -m bench.reconciliation_nightly 10000` for a quick run.

Each transfer (GBP to EUR, one business profile) is completed on the run's date: its quote,
the transfer, its four transitions (created, funded, processing, completed), its payout
instruction (sent) and its `complete` ledger entry (Dr clearing:transfers:EUR, Cr
payout:bench-payout:EUR, keyed `transfer:<reference>:complete` as the transfer service keys
it); the payout partner's settlement report for the day is a `partner` statement with one
line per transfer naming its reference, closing at the account's ledger balance. A clean
night: everything matches and every check comes back empty (the bench says so when not).

Rows are inserted in bulk, in SQL with generate_series under `session_replication_role =
replica` (a scratch database: it skips the row-history triggers and the ledger's balance
trigger, as bench.dashboard does; materialised balances are not kept, and no check reads
them), then VACUUM ANALYZE as autovacuum would. The partner is not a registered report source,
so the run pulls nothing over HTTP; there is no inbox and no accounting connection.
No target is set by the issue: the bench prints the figures (ratio = run / baseline).
"""

from __future__ import annotations

import os
import sys
from datetime import date

from bench.common import bench_customer, clock, django_setup, migrate, scratch_database

AS_OF = date(2026, 11, 2)
PARTNER = "bench-payout"


def _seed(n: int) -> None:
    from django.db import connection, transaction

    from integrations.reconciliation.models import BankAccount, BankStatement
    from ledger import chart

    _, profile, beneficiary = bench_customer()
    clearing = chart.transfer_clearing_account(currency="EUR").pk
    payout = chart.payout_partner_account(partner=PARTNER, currency="EUR").pk
    account = BankAccount.objects.create(
        name=f"{PARTNER} EUR", account_number="BENCH-PAYOUT-EUR", currency="EUR",
        ledger_account_code=f"payout:{PARTNER}:EUR",
    )  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        # Created the day before, completed on the date (one second apart per transfer).
        cursor.execute(
            """
            CREATE TEMP TABLE bench_t ON COMMIT DROP AS
            SELECT g, 'B' || g AS reference, md5('q' || g)::uuid AS quote_id,
                   timestamptz %s - interval '1 day' + (g %% 43200) * interval '1 second'
                     AS created_at,
                   timestamptz %s + interval '6 hours' + (g %% 43200) * interval '1 second'
                     AS completed_at,
                   25000 + g %% 100000 AS source_minor, 150 + g %% 50 AS fee_minor,
                   28000 + g %% 110000 AS target_minor
            FROM generate_series(1, %s) g
            """,
            [f"{AS_OF} 00:00+00", f"{AS_OF} 00:00+00", n],
        )
        cursor.execute(
            """
            INSERT INTO quotes_quote (id, profile_id, source_currency, target_currency,
              fixed_side, source_amount_minor, target_amount_minor, fee_minor, fee_fixed_minor,
              fee_bps, mid_rate, customer_rate, margin_bps, rounding_mode, rate_source,
              rate_time, expires_at, delivery_estimate, created_at)
            SELECT quote_id, %s, 'GBP', 'EUR', 'source', source_minor, target_minor,
              fee_minor, fee_minor, 0, 1.15, 1.1454, 40, 'ROUND_HALF_EVEN', 'bench',
              created_at, created_at + interval '30 minutes', created_at + interval '1 day',
              created_at
            FROM bench_t ORDER BY g
            """,
            [profile.pk],
        )
        cursor.execute(
            """
            INSERT INTO transfers_transfer (reference, profile_id, beneficiary_id, quote_id,
              customer_transaction_id, state, source_currency, source_amount_minor,
              target_currency, target_amount_minor, fee_minor, failure_reason, created_at,
              updated_at)
            SELECT reference, %s, %s, quote_id, 'bench-' || g, 'completed', 'GBP',
              source_minor, 'EUR', target_minor, fee_minor, '', created_at, completed_at
            FROM bench_t ORDER BY g
            """,
            [profile.pk, beneficiary.pk],
        )
        cursor.execute(
            """
            INSERT INTO transfers_transfertransition (transition, source_state, target_state,
              actor_label, reason, request_id, occurred_at, transfer_id)
            SELECT s.transition, s.source_state, s.target_state, 'system:bench', '', '',
              b.created_at + s.step * interval '1 minute', t.id
            FROM bench_t b JOIN transfers_transfer t ON t.reference = b.reference
            CROSS JOIN (VALUES (0, 'create', '', 'created'), (1, 'fund', 'created', 'funded'),
                               (2, 'submit', 'funded', 'processing')) s(step, transition,
                                                                       source_state,
                                                                       target_state)
            UNION ALL
            SELECT 'complete', 'processing', 'completed', 'system:bench', '', '',
              b.completed_at, t.id
            FROM bench_t b JOIN transfers_transfer t ON t.reference = b.reference
            """
        )
        cursor.execute(
            """
            INSERT INTO integrations_payoutinstruction (partner, transfer_id,
              transfer_reference, status, external_id, attempts, last_error, last_status_at,
              created_at, updated_at)
            SELECT %s, t.id, t.reference, 'sent', 'P-' || t.reference, 1, '',
              b.completed_at, b.created_at, b.completed_at
            FROM bench_t b JOIN transfers_transfer t ON t.reference = b.reference
            ORDER BY b.g
            """,
            [PARTNER],
        )
        # The `complete` entry: the partner paid the beneficiary (Dr clearing, Cr payout).
        cursor.execute(
            """
            CREATE TEMP TABLE bench_e ON COMMIT DROP AS
            WITH e AS (INSERT INTO ledger_journalentry
                (idempotency_key, memo, effective_at, created_at, metadata)
              SELECT 'transfer:' || reference || ':complete', 'bench complete', completed_at,
                completed_at, '{}'
              FROM bench_t ORDER BY g
              RETURNING id, idempotency_key)
            SELECT e.id, b.target_minor
            FROM e JOIN bench_t b ON 'transfer:' || b.reference || ':complete' = e.idempotency_key
            """
        )
        cursor.execute(
            """
            INSERT INTO ledger_posting (entry_id, account_id, currency, debit_minor,
              credit_minor)
            SELECT id, %s, 'EUR', target_minor, 0 FROM bench_e
            UNION ALL
            SELECT id, %s, 'EUR', 0, target_minor FROM bench_e
            """,
            [clearing, payout],
        )
        cursor.execute("SELECT coalesce(sum(target_minor), 0)::bigint FROM bench_t")
        (total,) = cursor.fetchone()
        statement = BankStatement.objects.create(
            bank_account=account, format="partner", statement_id=f"settlement-EUR-{AS_OF}",
            checksum="0" * 64, file_name=f"settlement-EUR-{AS_OF}.json", imported_by="bench",
            opening_balance_minor=0, opening_date=AS_OF, closing_balance_minor=-total,
            closing_date=AS_OF,
        )  # fmt: skip
        cursor.execute(
            """
            INSERT INTO integrations_statementline (statement_id, position, value_date,
              booking_date, amount_minor, direction, currency, bank_reference, end_to_end_id,
              uetr, counterparty_name, counterparty_account, remittance_info, raw)
            SELECT %s, g - 1, %s, %s, -target_minor, 'debit', 'EUR', 'P-' || reference,
              reference, '', 'Lieferant GmbH', 'DE89370400440532013000', '', ''
            FROM bench_t ORDER BY g
            """,
            [statement.pk, AS_OF, AS_OF],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _baseline() -> tuple[float, int, int]:
    """The rows the run must at least read, read once: the report's lines hash-joined with
    the payout postings on the reference, and the transfers with their last transition."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        t = clock()
        cursor.execute(
            """
            SELECT count(*) FROM integrations_statementline l
            JOIN integrations_bankstatement s ON s.id = l.statement_id
            JOIN integrations_bankaccount b ON b.id = s.bank_account_id
            JOIN ledger_account a ON a.code = b.ledger_account_code
            JOIN ledger_posting p ON p.account_id = a.id
            JOIN ledger_journalentry e ON e.id = p.entry_id
             AND split_part(e.idempotency_key, ':', 2) = l.end_to_end_id
            """
        )
        (pairs,) = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*) FROM transfers_transfer t
            JOIN (SELECT DISTINCT ON (transfer_id) transfer_id, target_state
                  FROM transfers_transfertransition
                  ORDER BY transfer_id, occurred_at DESC, id DESC) s ON s.transfer_id = t.id
            WHERE s.target_state = 'completed'
            """
        )
        (completed,) = cursor.fetchone()
        return clock() - t, int(pairs), int(completed)


def _run() -> tuple[float, int, object, list[tuple[float, str]]]:
    """Seconds, queries, the run, and each step's seconds (the run reports a step as it
    ends: the match per account, then each check)."""
    from django.db import connection

    from integrations.reconciliation.runs import reconciliation_run

    queries = [0]
    steps: list[tuple[float, str]] = []
    last = [0.0]

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        queries[0] += 1
        return execute(sql, params, many, context)

    def progress(message: str) -> None:
        now = clock()
        steps.append((now - last[0], message.split(":")[0]))
        last[0] = now

    t = last[0] = clock()
    with connection.execute_wrapper(count):
        run = reconciliation_run(as_of=AS_OF, actor_label="system:bench", progress=progress)
    return clock() - t, queries[0], run, steps


def main() -> int:
    n = (
        int(sys.argv[1])
        if len(sys.argv) > 1
        else int(os.environ.get("RECON_NIGHTLY_BENCH_N", "100000"))
    )
    print(f"== nightly reconciliation run: {n:,} completed transfers on {AS_OF}")
    with scratch_database("bench_recon_nightly") as url:
        django_setup(url)
        migrate()
        t = clock()
        _seed(n)
        seed_seconds = clock() - t
        _baseline()  # warm the cache for both
        base_seconds, pairs, completed = _baseline()
        seconds, queries, run, steps = _run()
    counts = run.counts  # type: ignore[attr-defined]
    print(f"   seeding (SQL, bulk): {seed_seconds:.1f} s")
    print(
        f"   baseline (lines x postings on the reference, {pairs:,} pairs; transfers with "
        f"their last transition, {completed:,} completed): {base_seconds:8.2f} s"
    )
    print(
        f"   reconciliation_run:  {seconds:8.2f} s, {queries} queries, status "
        f"{run.status}, matched {counts.get('matched')}, "  # type: ignore[attr-defined]
        f"exceptions {counts.get('exceptions')}, "
        f"open mismatches {run.open_mismatches}"  # type: ignore[attr-defined]
    )
    slowest = ", ".join(f"{name} {s:.2f} s" for s, name in sorted(steps, reverse=True)[:4])
    print(f"   slowest steps: {slowest}")
    print(f"   ratio run/baseline {seconds / base_seconds:.1f}")
    clean = run.status == "succeeded" and counts.get("exceptions") == 0  # type: ignore[attr-defined]
    if not clean:
        print(f"   NOT a clean night: {counts.get('checks')}, errors {run.errors}")  # type: ignore[attr-defined]
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
