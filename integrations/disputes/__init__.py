"""Disputes' deadline scan on the beat scanner (docs/disputes.md). Registered like a connector
(integrations/registry.py)."""


def register() -> None:
    from fintech.disputes.services import disputes_expire
    from integrations import registry

    registry.register_scan("dispute_deadlines", disputes_expire)
