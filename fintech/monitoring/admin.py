"""Operator console for transaction monitoring: rules (compliance edits them, audited through
`monitoring_rule_save`) and the alert queue (read-only: each alert is decided by the
compliance case it is in, linked from its row).

Support and finance see neither (fintech/core/staff.py): an alert says why a customer is held.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from fintech.compliance.admin import case_link, with_case_id
from fintech.customers.admin_helpers import actor_for_request
from fintech.monitoring import services
from fintech.monitoring.models import MonitoringAlert, MonitoringRule
from fintech.monitoring.services import CASE_SOURCE


@admin.register(MonitoringRule)
class MonitoringRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "is_active",
        "jurisdiction",
        "profile_kind",
        "source_currency",
        "target_currency",
        "beneficiary_country",
        "amount_minor",
        "count",
        "window_hours",
        "score",
        "updated_by",
        "updated_at",
    ]
    list_filter = ["is_active", "kind", "jurisdiction", "profile_kind", "source_currency"]
    search_fields = ["name", "jurisdiction"]
    readonly_fields = ["updated_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "is_active", "jurisdiction", "score"]}),
        (
            "Scope (blank: any)",
            {
                "fields": [
                    "profile_kind",
                    "source_currency",
                    "target_currency",
                    "beneficiary_country",
                ]
            },
        ),
        (
            "Parameters (amounts in minor units of the source currency)",
            {"fields": ["amount_minor", "band_minor", "round_unit_minor", "count", "window_hours"]},
        ),
        ("Changed", {"fields": ["updated_by", "created_at", "updated_at"]}),
    ]

    def save_model(self, request: HttpRequest, obj: MonitoringRule, form: ModelForm, change: bool):  # type: ignore[no-untyped-def]
        # The form already ran the model's clean() (the same checks, shown beside each field);
        # the service checks again, audits and records who changed it.
        services.monitoring_rule_save(actor=actor_for_request(request), rule=obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # alerts point at their rule: switch a rule off instead


@admin.register(MonitoringAlert)
class MonitoringAlertAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "status",
        "kind",
        "rule",
        "transfer",
        "profile",
        "score",
        "raised_by",
        "created_at",
        "decided_by",
        "case",
    ]
    list_select_related = ["rule", "transfer", "profile"]
    list_filter = ["status", "kind", "raised_by", "rule", "created_at"]
    search_fields = ["transfer__reference", "profile__legal_name", "rule__name"]
    readonly_fields = [f.name for f in MonitoringAlert._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[MonitoringAlert]:
        return with_case_id(super().get_queryset(request), source=CASE_SOURCE)

    # No decisions here: every alert is in a compliance case from the moment it is raised,
    # and the case's decision clears or confirms it (four eyes where the risk needs them).
    @admin.display(description="case")
    def case(self, alert: MonitoringAlert) -> str:
        return case_link(alert)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # raised only by the rules

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Read-only: decided by its case.
        return False if obj is not None else super().has_change_permission(request)
