"""Payout partner (sandbox) connector: client, mapping, handlers, tasks (integrations/README.md,
"Shape of a connector")."""


def register() -> None:
    """Called at start-up (integrations/registry.py): subscribe to our events, add the scan."""
    from django.conf import settings

    from integrations import registry
    from integrations.connectors.payout.sandbox import (
        handlers,
        recalls,
        tasks,  # noqa: F401  (the Celery task)
    )
    from integrations.models import PayoutInstruction, PayoutRecall

    registry.register(
        "transfer.submitted",
        handlers.on_transfer_submitted,
        enabled=lambda: settings.PAYOUT_CONNECTOR == "sandbox",
    )
    registry.register_due_scan(
        "payouts", task=handlers.SUBMIT_TASK, model=PayoutInstruction, due=handlers.payouts_due
    )
    # Disputed payouts: our recall or trace request, and the partner's answer (recalls.py).
    registry.register(
        "dispute.opened",
        recalls.on_dispute_opened,
        enabled=lambda: settings.PAYOUT_CONNECTOR == "sandbox",
    )
    registry.register_due_scan(
        "payout_recalls", task=recalls.RECALL_TASK, model=PayoutRecall, due=recalls.recalls_due
    )
    # Its settlement report, for reconciliation's nightly run, under the name the ledger gives
    # this partner (its accounts are payout:<that name>:<CCY>), not the connector's own.
    from fintech.transfers.postings import DEFAULT_PAYOUT_PARTNER
    from integrations.connectors.payout.sandbox.client import settlement_report_fetch
    from integrations.reconciliation.provider_reports import register_report_source

    register_report_source(DEFAULT_PAYOUT_PARTNER, settlement_report_fetch)
