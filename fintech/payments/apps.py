from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "fintech.payments"
    label = "payments"
    verbose_name = "ERP payments"
    default_auto_field = "django.db.models.BigAutoField"
