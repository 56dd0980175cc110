"""QuickBooks Online as an accounting connector on the sync engine (issue 14): client,
mapping (pure, validated against Intuit's XSDs), adapter (the engine's actions), handlers
(our events -> jobs), webhooks (theirs in, followed up by reading back). See
docs/quickbooks.md."""


def register() -> None:
    """Called at start-up (integrations/registry.py)."""
    from django.conf import settings

    from integrations.connectors.accounting import journals
    from integrations.connectors.accounting.base import connector_register
    from integrations.connectors.accounting.quickbooks import (
        adapter,
        demo,
        handlers,
        tasks,  # noqa: F401  (the Celery task)
        webhooks,
    )

    connector_register(
        adapter=adapter.QuickBooksAdapter(),
        handlers=handlers.HANDLERS,
        enabled=lambda: bool(settings.QUICKBOOKS_CONNECTOR != "none"),
        webhook_provider=webhooks.PROVIDER_ENTRY,
        scans={
            # Shared with Xero (one scan by name, whichever connector registers it first).
            "accounting_daily_journals": journals.journal_scan,
            "quickbooks_sandbox_autoconnect": demo.sandbox_autoconnect,
        },
    )
