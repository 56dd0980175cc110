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
        # The same for cases: their rows say why a customer is held.
        audit_restrict(action_prefix="case.", permission="compliance.view_case")

        from fintech.compliance.cases import screening as screening_cases
        from fintech.compliance.cases.registry import case_source_register

        case_source_register(
            screening_cases.KIND,
            release=screening_cases.release,
            confirm=screening_cases.confirm,
            describe=screening_cases.describe,
            transfers=screening_cases.transfers,
        )
