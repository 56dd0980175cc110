"""Run every benchmark in turn, each in its own process (each points Django at its own
scratch database): `DATABASE_URL=postgres://... python -m bench`."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    "bench.ledger_postings",
    "bench.ledger_hot_wallet",
    "bench.ledger_balance_read",
    "bench.api_create_transfer",
    "bench.webhooks_inbound",
    "bench.webhooks_outbound",
    "bench.accounting_daily_movements",
    "bench.accounting_sync",
    "bench.reconciliation_match",
    "bench.reconciliation_nightly",
    "bench.quickbooks_sync",
    "bench.erp_pain001",
    "bench.sanctions_match",
    "bench.monitoring_latency",
    "bench.dashboard",
]


def main() -> int:
    failed = []
    # `python -m bench ledger_postings api_create_transfer` runs only those.
    chosen = [f"bench.{name}" for name in sys.argv[1:]] or BENCHMARKS
    for module in chosen:
        code = subprocess.run([sys.executable, "-m", module], check=False).returncode
        if code:
            failed.append(module)
    if failed:
        print(f"targets missed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
