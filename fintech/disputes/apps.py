from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "fintech.disputes"
    label = "disputes"
    verbose_name = "Disputes"
    default_auto_field = "django.db.models.BigAutoField"
