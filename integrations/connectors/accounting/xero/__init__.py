"""Xero connector: client, mapping (pure, validated against Xero's models), adapter (the sync
engine's actions), handlers (our events -> jobs), webhooks (theirs in). See docs/xero.md."""


def register() -> None:
    """Called at start-up (integrations/registry.py)."""
    from django.conf import settings

    from integrations import registry
    from integrations.connectors.accounting import journals
    from integrations.connectors.accounting.xero import (
        adapter,
        demo,
        handlers,
        tasks,  # noqa: F401  (the Celery task)
        webhooks,
    )
    from integrations.inbound.providers import register_provider
    from integrations.sync.adapters import register_adapter

    def enabled() -> bool:
        return bool(settings.XERO_CONNECTOR != "none")

    register_adapter(adapter.XeroAdapter())
    for event_type, handler in handlers.HANDLERS.items():
        registry.register(event_type, handler, enabled=enabled)
    registry.register_scan("accounting_daily_journals", journals.journal_scan)
    register_provider(webhooks.PROVIDER_ENTRY)
    registry.register_scan("xero_sandbox_autoconnect", demo.sandbox_autoconnect)
