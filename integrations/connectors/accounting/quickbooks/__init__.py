"""QuickBooks Online as an accounting connector on the sync engine (issue 14).

So far only the pure mapping: `roles` (the account-mapping rows and the QuickBooks account
types each accepts) and `mapping` (ledger facts -> QuickBooks Online v3 JSON bodies). The
client, adapter, sandbox and handlers come later; see docs/quickbooks.md.
"""
