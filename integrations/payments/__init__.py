"""ERP payment requests follow their transfers (fintech/payments/services/follow.py), the
approval-expiry scan, and the background intake of pain.001 files (docs/erp.md). Registered
like a connector (integrations/registry.py)."""


def register() -> None:
    from fintech.payments.models import PaymentFileIntake
    from integrations import registry
    from integrations.payments import handlers, tasks

    for event_type in handlers.FOLLOWED_EVENTS:
        registry.register(event_type, handlers.on_transfer_event)
    registry.register_scan("payment_request_expiry", handlers.expire_due)
    registry.register_due_scan(
        "payment_file_intake", task=tasks.TASK, model=PaymentFileIntake, due=tasks.intakes_due
    )
