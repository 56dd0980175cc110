"""QuickBooks Online as an accounting connector on the sync engine (issue 14).

So far only the pure mapping: `roles` (the account-mapping rows and the QuickBooks account
types each accepts) and `mapping` (ledger facts -> QuickBooks Online v3 JSON bodies). The
client, adapter, sandbox and handlers come later; see docs/quickbooks.md. Its webhooks are
received and verified already (`webhooks.py`).
"""


def register() -> None:
    """Called at start-up (integrations/registry.py): so far, QuickBooks' webhooks in."""
    from integrations.connectors.accounting.quickbooks import webhooks
    from integrations.inbound.providers import register_provider

    register_provider(webhooks.PROVIDER_ENTRY)
