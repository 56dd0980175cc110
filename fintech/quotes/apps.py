from django.apps import AppConfig


class QuotesConfig(AppConfig):
    name = "fintech.quotes"
    label = "quotes"
    verbose_name = "Quotes"
    default_auto_field = "django.db.models.BigAutoField"
