"""Xero connector: client, mapping (pure, validated against Xero's models), adapter (the sync
engine's actions), handlers (our events -> jobs), webhooks (theirs in). See docs/xero.md."""


def register() -> None:
    """Called at start-up (integrations/registry.py)."""
    from django.conf import settings

    from integrations.connectors.accounting import journals
    from integrations.connectors.accounting.base import connector_register
    from integrations.connectors.accounting.xero import (
        adapter,
        demo,
        handlers,
        tasks,  # noqa: F401  (the Celery task)
        webhooks,
    )

    connector_register(
        adapter=adapter.XeroAdapter(),
        handlers=handlers.HANDLERS,
        enabled=lambda: bool(settings.XERO_CONNECTOR != "none"),
        webhook_provider=webhooks.PROVIDER_ENTRY,
        scans={
            "accounting_daily_journals": journals.journal_scan,
            "xero_sandbox_autoconnect": demo.sandbox_autoconnect,
        },
    )
