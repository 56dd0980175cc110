"""The registries the connectors fill at start-up (integrations/registry.py): the relay's
event handlers, the scanner's scans, and the Celery tasks a worker knows."""

from __future__ import annotations

from fintech.celery import app as celery_app
from integrations import registry
from integrations.connectors.kyc.sandbox.handlers import on_compliance_submitted
from integrations.connectors.payout.sandbox.handlers import on_transfer_submitted
from integrations.payments.handlers import on_transfer_event as payment_request_follows

STABLE_TASK_NAMES = {
    "integrations.outbox_relay",
    "integrations.event_dispatch",
    "integrations.webhook_deliver",
    "integrations.inbound_process",
    "integrations.inbound_drain",
    "integrations.payout_submit",
    "integrations.payout_recall_submit",
    "integrations.kyc_check_create",
    "integrations.scan_due",
    "integrations.retention_purge",
    "integrations.sandbox_payout_advance",
    "integrations.sandbox_kyc_complete",
    "integrations.sync_job_run",
    "integrations.accounting_reconcile",
    "integrations.quickbooks_reconcile",
    "integrations.sandbox_xero_webhook_send",
    "integrations.sandbox_quickbooks_webhook_send",
    "integrations.sandbox_crm_webhook_send",
    "integrations.payment_file_intake",
}


def test_each_connector_subscribed_its_handler_while_enabled(settings) -> None:
    settings.XERO_CONNECTOR = "none"  # it subscribes to transfer events too (tests/connectors)
    settings.HUBSPOT_CONNECTOR = "none"  # and the CRM to lifecycle events (tests/connectors/crm)
    settings.QUICKBOOKS_CONNECTOR = "none"  # and QuickBooks
    settings.PAYOUT_CONNECTOR = "sandbox"
    settings.KYC_CONNECTOR = "sandbox"
    assert registry.handlers_for("transfer.submitted") == [
        on_transfer_submitted,
        payment_request_follows,  # ERP payment requests, always on (not a connector)
    ]
    assert registry.handlers_for("compliance.submitted") == [on_compliance_submitted]
    assert registry.handlers_for("business.verified") == []


def test_a_connector_switched_off_receives_nothing(settings) -> None:
    settings.XERO_CONNECTOR = "none"
    settings.HUBSPOT_CONNECTOR = "none"
    settings.QUICKBOOKS_CONNECTOR = "none"
    settings.PAYOUT_CONNECTOR = "none"
    assert registry.handlers_for("transfer.submitted") == [payment_request_follows]
    assert registry.handlers_for("compliance.submitted") == [on_compliance_submitted]


def test_registering_twice_subscribes_once(settings) -> None:
    settings.XERO_CONNECTOR = "none"
    settings.QUICKBOOKS_CONNECTOR = "none"
    settings.PAYOUT_CONNECTOR = "sandbox"
    registry.packages_load(["integrations.connectors.payout.sandbox"])  # ready() did it once
    assert registry.handlers_for("transfer.submitted") == [
        on_transfer_submitted,
        payment_request_follows,
    ]
    assert list(registry.scans()).count("payouts") == 1


def test_the_scanner_runs_every_package_scan_in_order() -> None:
    assert list(registry.scans()) == [
        "deliveries",
        "inbound_handed_off",
        "inbound",
        "payouts",
        "payout_recalls",
        "kyc_checks",
        "sync_jobs",
        "accounting_daily_journals",
        "xero_sandbox_autoconnect",
        "quickbooks_sandbox_autoconnect",
        "hubspot_sandbox_autoconnect",
        "sandbox_payouts",
        "sandbox_kyc_checks",
        "sandbox_xero_webhooks",
        "sandbox_quickbooks_webhooks",
        "sandbox_crm_webhooks",
        "payment_request_expiry",
        "payment_file_intake",
        "dispute_deadlines",
    ]


def test_a_worker_knows_every_task_by_its_stable_name() -> None:
    celery_app.loader.import_default_modules()  # what a worker does at start (autodiscovery)
    assert sorted(STABLE_TASK_NAMES - set(celery_app.tasks)) == []
