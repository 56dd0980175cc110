"""(b) 8 processes all debiting one hot wallet (each crediting its own account), against
benchmark (a)'s figure (2 processes, distinct accounts) measured in the same run.
Target: ratio >= 0.5 with zero errors and zero deadlocks.

Every post locks the hot wallet's balance row, so posts on it are serialised: the figure is
1 / (time the lock is held), which is why entry_post holds it for two statements only.
"""

from __future__ import annotations

import sys

from bench.common import django_setup, migrate, scratch_database
from bench.ledger_postings import ROUNDS, SECONDS, measure


def main() -> int:
    print(
        f"== (b) 8 processes debiting one hot wallet vs (a) 2 processes on distinct accounts "
        f"({ROUNDS} interleaved rounds of {SECONDS}s each)"
    )
    base: list[float] = []
    hot: list[float] = []
    errors = deadlocks = 0
    with scratch_database("bench_ledger_hot") as url:
        django_setup(url)
        migrate()
        for round_ in range(ROUNDS):
            a = measure(url, processes=2, hot_wallet=False, run=f"b-base{round_}")
            b = measure(url, processes=8, hot_wallet=True, run=f"b-hot{round_}")
            base.append(a.rate)
            hot.append(b.rate)
            errors += a.errors + b.errors
            deadlocks += b.deadlocks
            print(f"   round {round_ + 1}: distinct {a.rate:,.0f}/s, hot wallet {b.rate:,.0f}/s")
    baseline, rate = sum(base) / ROUNDS, sum(hot) / ROUNDS
    ratio = rate / baseline
    print(f"   baseline (a) 2 processes, distinct accounts: {baseline:,.0f} entries/s (mean)")
    print(
        f"   8 processes, one hot wallet: {rate:,.0f} entries/s, errors {errors}, "
        f"deadlocks {deadlocks}"
    )
    verdict = "OK" if ratio >= 0.5 and errors == 0 and deadlocks == 0 else "MISSED"
    print(f"   ratio {ratio:.2f} (target >= 0.50, zero errors, zero deadlocks): {verdict}")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
