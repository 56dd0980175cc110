from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "fintech.monitoring"
    label = "monitoring"
    verbose_name = "Transaction monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fintech.core.audit_export import audit_restrict

        # Support sees that a transfer is held, not why: alerts, their facts and decisions are
        # for compliance only (no tipping off).
        audit_restrict(action_prefix="monitoring.", permission="monitoring.view_monitoringalert")
