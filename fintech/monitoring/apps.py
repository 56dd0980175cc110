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

        # Alerts are worked in compliance cases: a case's decision clears or confirms them.
        from fintech.compliance.cases.registry import case_source_register
        from fintech.monitoring import case_source

        case_source_register(
            case_source.KIND,
            release=case_source.release,
            confirm=case_source.confirm,
            describe=case_source.describe,
            transfers=case_source.transfers,
        )
