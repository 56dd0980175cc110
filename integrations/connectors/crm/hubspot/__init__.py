"""HubSpot CRM connector: the customer lifecycle out (data-minimised), account managers in.
client, mapping (pure, allowlists), adapter (the sync engine's actions), handlers (our events
-> jobs), webhooks (theirs in), services (private app tokens), demo. See docs/crm.md."""


def register() -> None:
    """Called at start-up (integrations/registry.py)."""
    from django.conf import settings

    from integrations import registry
    from integrations.connectors.crm.hubspot import adapter, demo, handlers, webhooks
    from integrations.inbound.providers import register_provider
    from integrations.sync.adapters import register_adapter

    def enabled() -> bool:
        return bool(settings.HUBSPOT_CONNECTOR != "none")

    register_adapter(adapter.HubSpotAdapter())
    for event_type, handler in handlers.HANDLERS.items():
        registry.register(event_type, handler, enabled=enabled)
    register_provider(webhooks.PROVIDER_ENTRY)
    registry.register_scan("hubspot_sandbox_autoconnect", demo.sandbox_autoconnect)
