"""QuickBooks sync jobs per second into the QuickBooks sandbox with one Celery worker (solo
pool), printed beside the sandbox's own rate for the same object under a plain client loop
(one thread, a kept-alive session, `POST /v3/company/<realm>/customer` with its requestid and
minorversion, no look-up, no job, no database on our side) in the same run: the second figure
is the ceiling the sandbox allows.

Each job is the real thing (bench/accounting_sync.py's harness): the engine claims it, takes
a call from the connection's budget, a token, looks the Customer up by our reference (a
query) and creates it (with the job's requestid), then records the outcome. Two calls per
job, so a ratio near 0.5 means the engine adds little.

    DATABASE_URL=postgres://... python -m bench.quickbooks_sync
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from bench.accounting_sync import Provider, main


def _connect(actor: Any) -> Any:
    from integrations.connectors.accounting.quickbooks import demo
    from integrations.sync import services

    connection, auth = services.connection_start(
        actor=actor, provider="quickbooks", profile_id=None
    )
    connection = demo.connect_by_redirect(connection=connection, authorization_url=auth)
    demo.mapping_apply(connection=connection, mapping=demo.mapping_by_type(connection))
    return connection


def _baseline(connection: Any, count: int) -> float:
    """The sandbox under a plain loop: `count` Customers created, one POST each."""
    import requests
    from django.conf import settings

    session = requests.Session()
    url = f"{settings.QUICKBOOKS_API_URL}/company/{connection.tenant_id}/customer"
    headers = {
        "Authorization": f"Bearer {connection.access_token}",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    started = time.perf_counter()
    for i in range(count):
        body = json.dumps({"DisplayName": f"Baseline {i} [BASE-{i}]"})
        params = {"requestid": f"bench-baseline-{i}", "minorversion": "75"}
        answer = session.post(url, data=body, params=params, headers=headers, timeout=30)
        answer.raise_for_status()
    return count / (time.perf_counter() - started)


QUICKBOOKS = Provider(
    name="quickbooks",
    env={
        "QUICKBOOKS_SANDBOX_RATE_PER_MINUTE": "1000000",
        "QUICKBOOKS_SANDBOX_CONCURRENT_LIMIT": "1000",
        "QUICKBOOKS_CALLS_PER_MINUTE": "1000000",
        "QUICKBOOKS_CALLS_PER_DAY": "10000000",
        "XERO_CONNECTOR": "none",
    },
    connect=_connect,
    baseline=_baseline,
    label="quickbooks sync",
    baseline_label="a plain POST /customer loop",
)

if __name__ == "__main__":
    sys.exit(main(QUICKBOOKS))
