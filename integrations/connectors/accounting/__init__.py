"""Accounting connectors (Xero, later QuickBooks): the ledger's facts, mapped to each tool.

`facts` reads what the ledger says (read-only); each provider's `mapping` turns those facts
into its request bodies. From the ledger out: an accounting tool is told only what the ledger
already says.
"""
