from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "fintech.api"
    label = "api"
    verbose_name = "API v1"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the OpenAPI extension for our authentication class.
        from fintech.api import schema  # noqa: F401
