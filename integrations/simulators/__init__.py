"""The partners' simulators, served by this project for the sandbox (/sandbox/)."""


def register() -> None:
    """Called at start-up (integrations/registry.py): the simulators' step scans and tasks."""
    from integrations import registry
    from integrations.models import (
        CrmSandboxWebhook,
        QuickBooksSandboxWebhook,
        SandboxKycCheck,
        SandboxPayout,
        XeroSandboxWebhook,
    )
    from integrations.simulators import (
        kyc,
        payout,
        tasks,  # noqa: F401  (defines the Celery tasks)
    )
    from integrations.simulators.crm import webhooks as crm_webhooks
    from integrations.simulators.quickbooks import webhooks as quickbooks_webhooks
    from integrations.simulators.xero import webhooks as xero_webhooks

    # The simulators' next steps (payout statuses, KYC results).
    registry.register_due_scan(
        "sandbox_payouts",
        task="integrations.sandbox_payout_advance",
        model=SandboxPayout,
        due=payout.payout_steps_due,
    )
    registry.register_due_scan(
        "sandbox_kyc_checks",
        task="integrations.sandbox_kyc_complete",
        model=SandboxKycCheck,
        due=kyc.check_steps_due,
    )
    registry.register_due_scan(
        "sandbox_xero_webhooks",
        task=xero_webhooks.TASK,
        model=XeroSandboxWebhook,
        due=xero_webhooks.webhook_steps_due,
    )
    registry.register_due_scan(
        "sandbox_quickbooks_webhooks",
        task=quickbooks_webhooks.TASK,
        model=QuickBooksSandboxWebhook,
        due=quickbooks_webhooks.webhook_steps_due,
    )
    registry.register_due_scan(
        "sandbox_crm_webhooks",
        task=crm_webhooks.TASK,
        model=CrmSandboxWebhook,
        due=crm_webhooks.webhook_steps_due,
    )
