from django.apps import AppConfig
from django.db.models.signals import post_save


class IntegrationsConfig(AppConfig):
    name = "integrations"
    label = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fintech.core.models import OutboxEvent
        from integrations import checks  # noqa: F401  (registers the system checks)
        from integrations.signals import outbox_event_saved

        post_save.connect(
            outbox_event_saved, sender=OutboxEvent, dispatch_uid="integrations.outbox_kick"
        )
