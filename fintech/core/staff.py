"""Staff roles as Django groups, with least privilege.

Each role lists the permissions it holds as "app_label.codename" patterns; `*` matches
any model. A migration creates the groups; `post_migrate` keeps them in step as new
models (and their permissions) arrive, so a role never silently lacks a new screen.
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
]

STAFF_ROLES: dict[str, list[str]] = {
    # Answers customers: sees their story, changes nothing that moves money.
    "support": [*VIEW_CUSTOMERS, "core.view_auditevent"],
    # KYC/AML decisions.
    "compliance": [
        *VIEW_CUSTOMERS,
        "compliance.change_compliancestatus",
        "core.view_auditevent",
        "pghistory.view_*",
    ],
    # Money: ledger, transfers' exception handling, reconciliation.
    "finance": [
        *VIEW_CUSTOMERS,
        "transfers.change_transfer",
        "transfers.transition_transfer",
        "ledger.view_*",
        "core.view_auditevent",
        "core.view_outboxevent",
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
    ],
    # Everything, including staff accounts and login lockouts (axes' attempts and logs).
    "admin": ["*.*"],
}


def _matches(label: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(label, pattern) for pattern in patterns)


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
