"""Run every benchmark in turn, each in its own process (each points Django at its own
scratch database): `DATABASE_URL=postgres://... python -m bench`."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ["bench.ledger_postings", "bench.ledger_hot_wallet", "bench.ledger_balance_read"]


def main() -> int:
    failed = []
    for module in BENCHMARKS:
        code = subprocess.run([sys.executable, "-m", module], check=False).returncode
        if code:
            failed.append(module)
    if failed:
        print(f"targets missed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
