"""Transaction monitoring's added latency on transfer creation (issue 19): `transfer_create`
called in process (its own transaction, commit included) with every rule switched off, beside
the same call with one active rule of every kind, same run, same customer, same database.

What is measured, in a scratch database on the DATABASE_URL server:
- a verified business (bench_customer) with HISTORY earlier transfers, so the rules that look
  back (velocity, structuring, dormancy) read a real history through their subqueries;
- one active rule of each of the nine kinds, in scope (GBP), with thresholds these
  transfers do not reach: the cost measured is judging, not raising alerts (an alert adds
  one insert, its audit row and its event);
- phases "off" and "on", interleaved over ROUNDS rounds so both see the same noise on a
  shared machine; COUNT creates per phase in all, each from a quote made beforehand.

Prints p50 and p99 per phase and the ratio on/off. Target: p50 ratio <= 1.5.

Run: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m
bench.monitoring_latency`
"""

from __future__ import annotations

import os
import statistics
import sys
import uuid

from bench.common import bench_customer, clock, django_setup, migrate, scratch_database

COUNT = int(os.environ.get("BENCH_COUNT", "300"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))
HISTORY = int(os.environ.get("BENCH_HISTORY", "500"))
TARGET = 1.5

RULES = [
    ("large_amount", {"amount_minor": 10**9}),
    ("velocity_count", {"count": 100_000, "window_hours": 24}),
    ("velocity_volume", {"amount_minor": 10**12, "window_hours": 24}),
    ("structuring", {"amount_minor": 10**9, "band_minor": 10**8, "count": 3, "window_hours": 72}),
    ("new_beneficiary_large", {"amount_minor": 10**9, "window_hours": 48}),
    ("round_amount", {"amount_minor": 10**9, "round_unit_minor": 100_000}),
    ("high_risk_corridor", {"amount_minor": 10**9, "beneficiary_country": "DE"}),
    ("dormant_wakeup", {"amount_minor": 10**9, "window_hours": 24 * 90}),
    ("many_senders_one_beneficiary", {"count": 100_000, "window_hours": 24 * 7}),
]


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> int:
    per_round = max(1, COUNT // ROUNDS)
    print(
        f"== transfer_create latency, monitoring rules off vs all {len(RULES)} kinds active: "
        f"{per_round * ROUNDS} creates per phase over {ROUNDS} interleaved rounds, "
        f"{HISTORY} earlier transfers of the customer"
    )
    with scratch_database("bench_monitoring") as url:
        django_setup(url)
        migrate()
        from fintech.monitoring.models import MonitoringAlert, MonitoringRule
        from fintech.monitoring.services import monitoring_rule_save
        from fintech.quotes.services import quote_create
        from fintech.transfers.services import transfer_create

        actor, profile, beneficiary = bench_customer()
        body = {"source_currency": "GBP", "target_currency": "EUR", "source_amount": "100.00"}

        def create() -> float:
            quote = quote_create(actor=actor, profile=profile, **body)
            started = clock()
            transfer_create(
                actor=actor, profile=profile, quote_id=quote.pk, beneficiary_id=beneficiary.pk,
                customer_transaction_id=f"B-{uuid.uuid4().hex[:12]}",
            )  # fmt: skip
            return clock() - started

        for _ in range(HISTORY):
            create()
        for kind, params in RULES:
            fields = {"source_currency": "GBP", **params}
            monitoring_rule_save(
                actor=actor, rule=MonitoringRule(name=kind, kind=kind, score=50, **fields)
            )
        samples: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(ROUNDS):
            for phase in ("off", "on"):
                MonitoringRule.objects.update(is_active=phase == "on")
                samples[phase] += [create() for _ in range(per_round)]
        alerts = MonitoringAlert.objects.count()

    for phase, values in samples.items():
        print(
            f"{phase:>4}: p50 {_percentile(values, 0.5):6.2f} ms  p99 "
            f"{_percentile(values, 0.99):6.2f} ms  mean {statistics.mean(values) * 1000:6.2f} ms"
        )
    ratio50 = _percentile(samples["on"], 0.5) / _percentile(samples["off"], 0.5)
    ratio99 = _percentile(samples["on"], 0.99) / _percentile(samples["off"], 0.99)
    print(f"ratio on/off: p50 {ratio50:.2f}  p99 {ratio99:.2f}  (target p50 <= {TARGET})")
    print(f"alerts raised: {alerts} (expected 0: thresholds out of reach)")
    return 0 if ratio50 <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
