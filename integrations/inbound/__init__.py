"""Inbound webhooks: partners' messages, verified, stored, then processed by a worker."""


def register() -> None:
    """Called at start-up (integrations/registry.py): the inbound scans and tasks."""
    from integrations import registry
    from integrations.inbound import tasks  # noqa: F401  (defines the Celery tasks)
    from integrations.inbound.handoff import PROCESS_TASK, drain
    from integrations.inbound.services import inbound_due
    from integrations.models import InboundWebhook

    # Ids the webhook endpoint handed off that no drain took (a lost kick or worker).
    registry.register_scan("inbound_handed_off", drain)
    registry.register_due_scan("inbound", task=PROCESS_TASK, model=InboundWebhook, due=inbound_due)
