"""Fixtures borrowed for reconciliation's tests: transfers in any state (built through the
services) for the named checks; alice's ERP for the ERP check; a throwaway Redis and real
Celery workers for the nightly run."""

from tests.integrations.conftest import redis_server, start_worker  # noqa: F401 (fixtures)
from tests.payments.conftest import erp_api, no_vendor_approval  # noqa: F401 (fixtures)
from tests.transfers.conftest import alice_eur, make_transfer  # noqa: F401 (fixtures)
