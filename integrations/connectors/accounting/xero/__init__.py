"""Xero: the ledger's facts as Xero Accounting API request bodies (`mapping`).

The lead adds `register()` (handlers subscribing to our events) and the client.
"""
