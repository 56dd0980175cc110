"""The sync engine shared by accounting, ERP and CRM connectors (docs/sync-engine.md)."""


def register() -> None:
    """Called at start-up (integrations/registry.py): the due-jobs scan and the task."""
    from integrations import registry
    from integrations.sync import (
        services,
        tasks,  # noqa: F401  (the Celery task)
    )
    from integrations.sync.models import SyncJob

    registry.register_due_scan(
        "sync_jobs", task=services.RUN_TASK, model=SyncJob, due=services.jobs_due
    )
