"""Outbound webhooks: our events, signed, to the subscribers' endpoints."""


def register() -> None:
    """Called at start-up (integrations/registry.py): the delivery scan and task."""
    from integrations import registry
    from integrations.models import WebhookDelivery
    from integrations.webhooks import tasks  # noqa: F401  (defines the Celery task)
    from integrations.webhooks.services import DELIVER_TASK, deliveries_due

    registry.register_due_scan(
        "deliveries", task=DELIVER_TASK, model=WebhookDelivery, due=deliveries_due
    )
