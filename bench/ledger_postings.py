"""(a) Ledger postings per second through `entry_post`, 2 processes on distinct accounts,
against pgbench's tpcb-like with 2 clients (a TPC-B transaction is the raw database cost of
one posting). Target: ratio >= 0.5.

One "posting" here is one `entry_post` call: a two-legged entry (debit a customer wallet
with the no-negative check, credit a counter account), i.e. 1 entry row + 2 posting rows
+ 2 balance updates, checked by the deferred balance trigger at commit.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from dataclasses import dataclass

from bench.common import (
    clock,
    django_setup,
    migrate,
    pgbench_database,
    pgbench_tps,
    scratch_database,
)

SECONDS = 10
ROUNDS = 3
WALLET_FUNDS = 10**13


@dataclass
class Result:
    posts: int
    errors: int
    deadlocks: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.posts / self.seconds


def _worker(url, run, index, wallet_id, counter_id, seconds, start, out):  # pragma: no cover
    django_setup(url)
    from django.db import OperationalError, connection

    from ledger.services import PostingSpec, entry_post

    posts = errors = deadlocks = 0

    def post(n: int) -> None:
        entry_post(
            idempotency_key=f"bench:{run}:{index}:{n}",
            postings=[
                PostingSpec.debit(wallet_id, 1, "GBP"),
                PostingSpec.credit(counter_id, 1, "GBP"),
            ],
            memo="bench",
        )

    for n in range(20):  # warm up the connection and caches
        post(-n - 1)
    start.wait()
    deadline = clock() + seconds
    n = 0
    while clock() < deadline:
        n += 1
        try:
            post(n)
            posts += 1
        except OperationalError as exc:
            errors += 1
            deadlocks += "deadlock" in str(exc)
        except Exception:
            errors += 1
    connection.close()
    out.put((posts, errors, deadlocks))


def measure(
    url: str, *, processes: int, hot_wallet: bool, seconds: int = SECONDS, run: str = ""
) -> Result:
    """Run `processes` posting workers for `seconds`; each credits its own counter account
    and debits its own wallet, or one shared hot wallet."""
    from ledger import chart
    from ledger.services import PostingSpec, entry_post

    run = run or f"{os.getpid()}-{processes}-{hot_wallet}"
    funding = chart.funding_partner_account(partner=f"bench-{run}", currency="GBP")

    def funded_wallet(owner: str) -> int:
        wallet = chart.wallet_account(owner=owner, currency="GBP")
        entry_post(
            idempotency_key=f"bench:{run}:fund:{owner}",
            postings=[
                PostingSpec.debit(funding.pk, WALLET_FUNDS, "GBP"),
                PostingSpec.credit(wallet.pk, WALLET_FUNDS, "GBP"),
            ],
            memo="bench funding",
        )
        return wallet.pk

    hot = funded_wallet(f"bench:{run}:hot") if hot_wallet else None
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(processes + 1)
    out = ctx.Queue()
    workers = []
    for i in range(processes):
        wallet_id = hot if hot is not None else funded_wallet(f"bench:{run}:{i}")
        counter = chart.payout_partner_account(partner=f"bench-{run}-{i}", currency="GBP")
        workers.append(
            ctx.Process(
                target=_worker,
                args=(url, run, i, wallet_id, counter.pk, seconds, start, out),
            )
        )
    for w in workers:
        w.start()
    start.wait()
    results = [out.get(timeout=seconds + 120) for _ in workers]
    for w in workers:
        w.join()
    return Result(
        posts=sum(r[0] for r in results),
        errors=sum(r[1] for r in results),
        deadlocks=sum(r[2] for r in results),
        seconds=seconds,
    )


def main() -> int:
    print(
        f"== (a) ledger postings/s, 2 processes on distinct accounts vs pgbench tpcb-like -c 2 "
        f"({ROUNDS} interleaved rounds of {SECONDS}s each)"
    )
    tps: list[float] = []
    rates: list[float] = []
    errors = 0
    with pgbench_database() as pgbench_args, scratch_database("bench_ledger") as url:
        django_setup(url)
        migrate()
        # Interleaved rounds: the machine is shared, so both figures see the same noise.
        for round_ in range(ROUNDS):
            tps.append(pgbench_tps(pgbench_args, clients=2, seconds=SECONDS))
            result = measure(url, processes=2, hot_wallet=False, run=f"a{round_}")
            rates.append(result.rate)
            errors += result.errors
            print(
                f"   round {round_ + 1}: pgbench {tps[-1]:,.0f} tps, entry_post {rates[-1]:,.0f}/s"
            )
    baseline, rate = sum(tps) / ROUNDS, sum(rates) / ROUNDS
    ratio = rate / baseline
    print(f"   baseline pgbench -b tpcb-like -c 2 -j 2 -T {SECONDS}: {baseline:,.0f} tps (mean)")
    print(
        f"   entry_post, 2 processes, distinct accounts: {rate:,.0f} entries/s "
        f"({2 * rate:,.0f} posting rows/s), errors {errors}"
    )
    verdict = "OK" if ratio >= 0.5 and errors == 0 else "MISSED"
    print(f"   ratio {ratio:.2f} (target >= 0.50): {verdict}")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
