from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_save


class IntegrationsConfig(AppConfig):
    name = "integrations"
    label = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fintech.core.models import OutboxEvent
        from integrations import (
            checks,  # noqa: F401  (registers the system checks)
            tasks,  # noqa: F401  (the core tasks, known in every process)
        )
        from integrations.registry import packages_load
        from integrations.signals import outbox_event_saved

        post_save.connect(
            outbox_event_saved, sender=OutboxEvent, dispatch_uid="integrations.outbox_kick"
        )
        # Each package registers its event handlers and scans and imports its Celery tasks.
        packages_load(settings.INTEGRATIONS_PACKAGES)
