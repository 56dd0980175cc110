from django.apps import AppConfig


class BeneficiariesConfig(AppConfig):
    name = "fintech.beneficiaries"
    label = "beneficiaries"
    verbose_name = "Beneficiaries"
    default_auto_field = "django.db.models.BigAutoField"
