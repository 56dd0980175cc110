"""Wallets: a profile's balances per currency, kept in the ledger (one liability account each)."""
