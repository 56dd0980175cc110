"""Shared fixtures. People: alice (verified business), bob (KYC pending), ops (operator)."""
