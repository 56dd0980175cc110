"""The exception inbox (issue 18): one list of everything that needs a human, from every
source (failed syncs, dead deliveries, failed inbound webhooks, stuck transfers, compliance
reviews, held payments, reconciliation mismatches, connections to reconnect, dead letters).
See docs/operations.md, "Exception inbox"."""


def register() -> None:
    """Called at start-up (integrations/registry.py): the scan's Celery task."""
    from integrations.inbox import tasks  # noqa: F401
