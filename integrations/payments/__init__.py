"""ERP payment requests follow their transfers (fintech/payments/services/follow.py), and the
approval-expiry scan (docs/erp.md). Registered like a connector (integrations/registry.py)."""


def register() -> None:
    from integrations import registry
    from integrations.payments import handlers

    for event_type in handlers.FOLLOWED_EVENTS:
        registry.register(event_type, handlers.on_transfer_event)
    registry.register_scan("payment_request_expiry", handlers.expire_due)
