"""Reconciliation (issue 17): bank statements in (camt.053/054, MT940, CSV) and the payout
partner's settlement report, set-based matching against the ledger, the named checks, the
mismatch queue, the nightly run and period close. See docs/reconciliation.md."""


def register() -> None:
    """Called at start-up (integrations/registry.py): the Celery tasks, the built-in checks,
    and the checks other packages add (`RECONCILIATION_CHECK_MODULES`)."""
    import importlib

    from django.conf import settings

    from integrations.reconciliation import checks, tasks  # noqa: F401

    for module in getattr(settings, "RECONCILIATION_CHECK_MODULES", []):
        importlib.import_module(module)
