"""Accounting connectors (Xero, QuickBooks Online): the ledger's facts, mapped to each tool.

`facts` reads what the ledger says (read-only); each provider's `mapping` turns those facts
into its request bodies. From the ledger out: an accounting tool is told only what the ledger
already says. What the connectors share sits here beside them: `handlers` (events -> jobs),
`books` (role rows), `jobs`, `base` (the HTTP client of a connection, registration), `demo`,
`followup` (their changes against what we synced), `journals`, `vocabulary`, `wire`.
"""
