"""KYC provider (sandbox) connector: client, mapping, handlers, tasks (integrations/README.md,
"Shape of a connector")."""


def register() -> None:
    """Called at start-up (integrations/registry.py): subscribe to our events, add the scan."""
    from django.conf import settings

    from integrations import registry
    from integrations.connectors.kyc.sandbox import (
        handlers,
        tasks,  # noqa: F401  (the Celery task)
    )
    from integrations.models import KycCheck

    registry.register(
        "compliance.submitted",
        handlers.on_compliance_submitted,
        enabled=lambda: settings.KYC_CONNECTOR == "sandbox",
    )
    registry.register_due_scan(
        "kyc_checks", task=handlers.CREATE_TASK, model=KycCheck, due=handlers.kyc_checks_due
    )
