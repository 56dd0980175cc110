"""The operator dashboard (the admin's index, integrations/observability/dashboard.py): its
render time and query count with N transfers and E open exceptions, beside a single
`SELECT count(*) FROM transfers_transfer` in the same run (ratio = render / count).

N defaults to 1,000,000 and E to 100,000: `python -m bench.dashboard [N] [E]` (or
DASHBOARD_BENCH_N / DASHBOARD_BENCH_EXCEPTIONS), e.g. `python -m bench.dashboard 20000` for
a quick run. Transfers are spread over the last DASHBOARD_BENCH_DAYS days (default 365, a
year of history: about a tenth fall in the charts' 30 days; 60 puts half of them there), over
five corridors and all seven states; the ones that reached processing or
completed carry their fee in the ledger (revenue:fees:<CCY>), which the revenue panel reads.
A payout instruction per transfer that reached the partner. Exceptions: half failed sync jobs
over four connections, half open reconciliation mismatches.

Rows are inserted in time order (ids grow with time, as in production) and in bulk, in SQL
with generate_series under `session_replication_role =
replica` (a scratch database: it skips the row-history triggers and the ledger's balance
trigger, which are not what this measures; materialised balances are not kept). VACUUM
ANALYZE afterwards, as autovacuum would, so the planner has statistics and index-only scans
their visibility map. Target: the query count stays within QUERY_BOUND whatever N.
"""

from __future__ import annotations

import os
import statistics
import sys

from bench.common import bench_customer, clock, django_setup, migrate, scratch_database

RUNS = 5
QUERY_BOUND = 30
CORRIDORS = [("GBP", "EUR"), ("GBP", "USD"), ("EUR", "GBP"), ("USD", "INR"), ("EUR", "PLN")]
STATES = ["created", "funded", "processing", "completed", "failed", "cancelled", "refunded"]


def _seed(n: int, exceptions: int, spread_days: int) -> None:
    from django.db import connection, transaction

    from integrations.sync.models import Connection
    from ledger import chart

    _, profile, beneficiary = bench_customer()
    currencies = sorted({c for pair in CORRIDORS for c in pair})
    fee_accounts = {c: chart.fee_revenue_account(currency=c).pk for c in currencies}
    clearing = {c: chart.transfer_clearing_account(currency=c).pk for c in currencies}
    connections = [
        Connection.objects.create(
            provider=provider,
            kind=kind,
            owner=Connection.Owner.PLATFORM,
            status=Connection.Status.ACTIVE,
            tenant_id=f"bench-{i}",
            tenant_name=provider,
        ).pk
        for i, (provider, kind) in enumerate(
            [
                ("xero", "accounting"),
                ("quickbooks", "accounting"),
                ("hubspot", "crm"),
                ("sap", "erp"),
            ]
        )
    ]
    src = "ARRAY[" + ",".join(f"'{s}'" for s, _ in CORRIDORS) + "]"
    tgt = "ARRAY[" + ",".join(f"'{t}'" for _, t in CORRIDORS) + "]"
    states = "ARRAY[" + ",".join(f"'{s}'" for s in STATES) + "]"
    k = len(CORRIDORS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        # g's quote id is md5(g)::uuid, so the transfers find theirs without a join.
        cursor.execute(
            f"""
            CREATE TEMP TABLE bench_t ON COMMIT DROP AS
            SELECT g, md5('q' || g)::uuid AS quote_id,
                   ({src})[1 + g %% {k}] AS source, ({tgt})[1 + g %% {k}] AS target,
                   ({states})[1 + (g / {k}) %% {len(STATES)}] AS state,
                   now() - (g %% {spread_days}) * interval '1 day'
                     - (g %% 86400) * interval '1 second' AS created_at,
                   25000 + g %% 100000 AS source_minor, 150 + g %% 50 AS fee_minor
            FROM generate_series(1, %s) g
            """,
            [n],
        )
        cursor.execute(
            """
            INSERT INTO quotes_quote (id, profile_id, source_currency, target_currency,
              fixed_side, source_amount_minor, target_amount_minor, fee_minor, fee_fixed_minor,
              fee_bps, mid_rate, customer_rate, margin_bps, rounding_mode, rate_source,
              rate_time, expires_at, delivery_estimate, created_at)
            SELECT quote_id, %s, source, target, 'source', source_minor, source_minor,
              fee_minor, fee_minor, 0, 1, 0.996, 40, 'ROUND_HALF_EVEN', 'bench', created_at,
              created_at + interval '30 minutes', created_at + interval '1 day', created_at
            FROM bench_t ORDER BY created_at
            """,
            [profile.pk],
        )
        cursor.execute(
            """
            INSERT INTO transfers_transfer (reference, profile_id, beneficiary_id, quote_id,
              customer_transaction_id, state, source_currency, source_amount_minor,
              target_currency, target_amount_minor, fee_minor, failure_reason, created_at,
              updated_at)
            SELECT 'B' || g, %s, %s, quote_id, 'bench-' || g, state, source, source_minor,
              target, source_minor, fee_minor, '', created_at, created_at
            FROM bench_t ORDER BY created_at
            """,
            [profile.pk, beneficiary.pk],
        )
        # The fee of every transfer that reached the payout partner, as submit books it.
        cursor.execute(
            """
            CREATE TEMP TABLE bench_e ON COMMIT DROP AS
            WITH e AS (INSERT INTO ledger_journalentry
                (idempotency_key, memo, effective_at, created_at, metadata)
              SELECT 'transfer:B' || g || ':submit', 'bench', created_at, created_at, '{}'
              FROM bench_t WHERE state IN ('processing', 'completed') ORDER BY created_at
              RETURNING id, idempotency_key)
            SELECT e.id, t.source, t.fee_minor
            FROM e JOIN bench_t t ON 'transfer:B' || t.g || ':submit' = e.idempotency_key
            """
        )
        for currency in currencies:
            cursor.execute(
                """
                INSERT INTO ledger_posting (entry_id, account_id, currency, debit_minor,
                  credit_minor)
                SELECT id, %s, source, fee_minor, 0 FROM bench_e WHERE source = %s
                UNION ALL
                SELECT id, %s, source, 0, fee_minor FROM bench_e WHERE source = %s
                """,
                [clearing[currency], currency, fee_accounts[currency], currency],
            )
        # One payout instruction per transfer that went to the partner (the payout rail's
        # health row): sent, failed, accepted at the partner, pending when less than a day old.
        cursor.execute(
            """
            INSERT INTO integrations_payoutinstruction (partner, transfer_id,
              transfer_reference, status, external_id, attempts, last_error, last_status_at,
              created_at, updated_at)
            SELECT 'sandbox-payout', t.id, t.reference,
              CASE t.state WHEN 'completed' THEN 'sent' WHEN 'failed' THEN 'failed'
                WHEN 'refunded' THEN 'sent'
                ELSE CASE WHEN t.created_at > now() - interval '1 day' THEN 'pending'
                  ELSE 'accepted' END END,
              '', 1, '', t.created_at + interval '1 hour', t.created_at, t.created_at
            FROM transfers_transfer t
            WHERE t.state IN ('processing', 'completed', 'failed', 'refunded')
            ORDER BY t.created_at
            """
        )
        jobs = exceptions // 2
        cursor.execute(
            """
            INSERT INTO integrations_syncjob (connection_id, object_type, object_id, action,
              state, payload_hash, external_id, external_version, external_number, attempts,
              last_error, last_error_class, note, next_attempt_at, created_at, updated_at,
              external_summary)
            SELECT (%s::bigint[])[1 + g %% 4], 'transfer', g::text, 'invoice', 'failed', '', '',
              '', '', 3, 'refused', 'PermanentError', '', now(),
              now() - (g %% 30) * interval '1 day', now(), '{}'
            FROM generate_series(1, %s) g
            """,
            [connections, jobs],
        )
        cursor.execute(
            """
            INSERT INTO integrations_mismatch (check_name, key, as_of, detail, ours, theirs,
              currency, difference_minor, state, opened_at, times_reopened, resolution,
              resolution_note, resolved_by, write_off_requested_by, write_off_reason,
              write_off_approved_by)
            SELECT 'bench', 'k' || g, current_date, 'bench', '{}', '{}', 'GBP', g %% 1000,
              'open', now() - (g %% 90) * interval '1 day', 0, '', '', '', '', '', ''
            FROM generate_series(1, %s) g
            """,
            [exceptions - jobs],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> int:
    n = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DASHBOARD_BENCH_N", 1_000_000))
    exceptions = int(
        sys.argv[2] if len(sys.argv) > 2 else os.environ.get("DASHBOARD_BENCH_EXCEPTIONS", 100_000)
    )
    with scratch_database("bench_dashboard") as url:
        django_setup(url)
        migrate()
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        t = clock()
        spread_days = int(os.environ.get("DASHBOARD_BENCH_DAYS", 365))
        _seed(n, exceptions, spread_days)
        print(
            f"seeded {n:,} transfers over {spread_days} days and {exceptions:,} open exceptions"
            f" in {clock() - t:.1f} s"
        )

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        ops = get_user_model().objects.create_superuser("bench-ops", "ops@example.com", "x")
        client = Client()
        client.force_login(ops)
        renders, counts = [], []
        response = client.get("/admin/")  # warm: sessions, permissions, templates
        assert response.status_code == 200, response.status_code
        for _ in range(RUNS):
            with CaptureQueriesContext(connection) as queries:
                t = clock()
                response = client.get("/admin/")
                renders.append(clock() - t)
            with connection.cursor() as cursor:
                t = clock()
                cursor.execute("SELECT count(*) FROM transfers_transfer")
                counts.append(clock() - t)
                (total,) = cursor.fetchone()
        # Read now: every request starts by clearing the connection's query log.
        captured = list(queries.captured_queries)
        # The same admin chrome (header, sidebar, app list) without the dashboard's panels.
        chrome = []
        for _ in range(RUNS):
            t = clock()
            client.get("/admin/customers/")
            chrome.append(clock() - t)
        page = response.content.decode()
        assert 'id="dashboard-transfers"' in page
        assert 'id="dashboard-health"' in page
        slowest = sorted(captured, key=lambda q: -float(q["time"]))[
            : int(os.environ.get("DASHBOARD_BENCH_SHOW", 3))
        ]
        render_ms, count_ms = _median_ms(renders), _median_ms(counts)
        print(f"transfers: {total:,}; open exceptions: {exceptions:,}")
        print(
            f"dashboard render (median of {RUNS}): {render_ms:.1f} ms, "
            f"{len(captured)} queries (bound {QUERY_BOUND})"
        )
        print(f"SELECT count(*) FROM transfers_transfer (median of {RUNS}): {count_ms:.1f} ms")
        print(f"admin app index without the panels (median of {RUNS}): {_median_ms(chrome):.1f} ms")
        print(f"ratio render / count(*): {render_ms / count_ms:.2f}")
        for q in slowest:
            print(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:110]}")
            if os.environ.get("DASHBOARD_BENCH_EXPLAIN"):
                # captured_queries hold the SQL with its parameters interpolated.
                with connection.cursor() as cursor:
                    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {q['sql']}")
                    print("\n".join(f"      {line}" for (line,) in cursor.fetchall()))
        if len(captured) > QUERY_BOUND:
            print(f"target missed: {len(captured)} queries > {QUERY_BOUND}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
