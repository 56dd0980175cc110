from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "fintech.compliance"
    label = "compliance"
    verbose_name = "Compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fintech.core.audit_export import audit_restrict

        # Support sees that a hold exists (the transfer's error says so), not why: a hit's
        # decisions and their notes are for compliance only.
        audit_restrict(action_prefix="screening.", permission="compliance.view_screeninghit")
