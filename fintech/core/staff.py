"""Staff roles as Django groups, with least privilege.

Each role lists the permissions it holds as "app_label.codename" patterns; `*` matches
any model; a pattern starting with `!` takes away what the others gave. A migration creates
the groups; `post_migrate` keeps them in step as new models (and their permissions) arrive,
so a role never silently lacks a new screen.
"""

from __future__ import annotations

import fnmatch
from typing import Any

VIEW_CUSTOMERS = [
    "customers.view_*",
    "compliance.view_*",
    "beneficiaries.view_*",
    "quotes.view_*",
    "transfers.view_*",
    "payments.view_*",
    "disputes.view_*",
]

# ERP payments (fintech/payments): release, reject or cancel requests held for review, and take
# a customer's pain.001 file in the admin.
ERP_OPERATE = ["payments.change_paymentrequest", "payments.add_paymentbatch"]

# The sync engine (integrations/sync): jobs, mismatches and mappings name customers' objects
# and books; connections are the machinery.
SYNC_OPERATE = [
    "integrations.view_accountingconnection",
    "integrations.change_accountingconnection",
    "integrations.view_crmconnection",
    "integrations.change_crmconnection",
    "integrations.view_syncjob",
    "integrations.change_syncjob",
    "integrations.view_syncmismatch",
    "integrations.change_syncmismatch",
    "integrations.view_accountmapping",
    "integrations.change_accountmapping",
    "integrations.view_externalaccount",
]
SYNC_CUSTOMER_DATA = [
    "!integrations.*_syncjob",
    "!integrations.*_syncmismatch",
    "!integrations.*_accountmapping",
    "!integrations.*_externalaccount",
    "!integrations.*_oauthauthorization",
    "!integrations.add_*connection",
    "!integrations.change_*connection",
    "!integrations.delete_*connection",
]

# Bank statements: finance reads them and keeps the bank accounts (imports go through the
# statement_import command). Statement lines name customers and counterparties.
RECONCILIATION_OPERATE = [
    "integrations.view_bankaccount",
    "integrations.add_bankaccount",
    "integrations.change_bankaccount",
    "integrations.view_bankstatement",
    "integrations.view_statementline",
    # matching, the mismatch queue and runs (issue 17): work them, never delete them
    "integrations.view_reconmatch",
    "integrations.view_reconmatchitem",
    "integrations.view_suggestedfunding",
    "integrations.change_suggestedfunding",
    "integrations.view_mismatch",
    "integrations.change_mismatch",
    "integrations.work_mismatch",
    "integrations.view_reconrun",
    "integrations.view_periodclose",
    "integrations.add_periodclose",
]
RECONCILIATION_CUSTOMER_DATA = [
    "!integrations.*_bankstatement",
    "!integrations.*_statementline",
    "!integrations.*_reconmatch",
    "!integrations.*_reconmatchitem",
    "!integrations.*_suggestedfunding",
    "!integrations.*_mismatch",
    "!integrations.*_mismatchevent",
    "!integrations.*_periodclose",
]

# Sanctions screening hits say why a customer is held: compliance only (support sees that a
# transfer cannot go, from the error, not why).
SCREENING_HITS_HIDDEN = [
    "!compliance.*_screeninghit",
    "!compliance.*_screeninghitevent",
    # Compliance cases, their items, notes, attachments and row history (fintech/compliance).
    "!compliance.*_case*",
]

# The exception inbox (integrations/inbox): every role works it; each sees only the items of
# sources whose model it may view (integrations/inbox/sources.py).
INBOX = ["integrations.view_exceptionitem", "integrations.change_exceptionitem"]

STAFF_ROLES: dict[str, list[str]] = {
    # Answers customers: sees their story, changes nothing that moves money.
    "support": [*VIEW_CUSTOMERS, "core.view_auditevent", *INBOX, *SCREENING_HITS_HIDDEN],
    # KYC/AML decisions.
    "compliance": [
        *VIEW_CUSTOMERS,
        "compliance.change_compliancestatus",
        "compliance.change_screeninghit",
        # Cases: work them (assign, transitions, decisions, SAR), add notes and attachments.
        "compliance.change_case",
        "compliance.add_casenote",
        "compliance.add_caseattachment",
        "core.view_auditevent",
        "pghistory.view_*",
        *INBOX,
    ],
    # Money: ledger, transfers' exception handling, reconciliation.
    "finance": [
        *VIEW_CUSTOMERS,
        "transfers.change_transfer",
        "transfers.transition_transfer",
        # Disputes: ask for evidence, review, decide (a lost one refunds the transfer).
        "disputes.decide_dispute",
        "ledger.view_*",
        "core.view_auditevent",
        "core.view_outboxevent",
        *SYNC_OPERATE,
        *RECONCILIATION_OPERATE,
        *ERP_OPERATE,
        *INBOX,
        *SCREENING_HITS_HIDDEN,
    ],
    # Keeps the machinery running: queues, schedules, events; no customer money actions and
    # no customer data (the audit trail names customers, their reasons and addresses).
    "engineering": [
        "core.view_outboxevent",
        "core.view_deadletter",
        "core.change_deadletter",
        "django_celery_beat.*",
        "transfers.view_transfer",
        "integrations.*",
        *SYNC_CUSTOMER_DATA,  # sees connections (view), not the jobs, mismatches, mappings
        *RECONCILIATION_CUSTOMER_DATA,  # sees bank accounts, not statements or their lines
    ],
    # Everything, including staff accounts and login lockouts (axes' attempts and logs).
    "admin": ["*.*"],
}


def _matches(label: str, patterns: list[str]) -> bool:
    allowed = [p for p in patterns if not p.startswith("!")]
    denied = [p[1:] for p in patterns if p.startswith("!")]
    return any(fnmatch.fnmatchcase(label, p) for p in allowed) and not any(
        fnmatch.fnmatchcase(label, p) for p in denied
    )


def staff_groups_sync(apps: Any = None, **_: Any) -> None:
    """Create the role groups and give each exactly the permissions its patterns match."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    permissions = list(permission_model.objects.select_related("content_type"))
    for role, patterns in STAFF_ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = [
            p for p in permissions if _matches(f"{p.content_type.app_label}.{p.codename}", patterns)
        ]
        group.permissions.set(wanted)
