"""Operator console for transaction monitoring: rules (compliance edits them, audited through
`monitoring_rule_save`) and the alert queue (clear or confirm, each with a note).

Support and finance see neither (fintech/core/staff.py): an alert says why a customer is held.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.template.response import TemplateResponse

from fintech.customers.admin_helpers import action_with_reason, actor_for_request
from fintech.monitoring import services
from fintech.monitoring.models import MonitoringAlert, MonitoringRule


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


def _decision(
    name: str, *, title: str, service: Callable[..., MonitoringAlert], done: str
) -> Callable[[Any, HttpRequest, QuerySet[MonitoringAlert]], TemplateResponse | None]:
    def run(
        modeladmin: MonitoringAlertAdmin,
        request: HttpRequest,
        queryset: QuerySet[MonitoringAlert],
    ) -> TemplateResponse | None:
        def apply(actor: Any, alert: MonitoringAlert, note: str) -> object:
            return service(actor=actor, alert=alert, note=note)

        return action_with_reason(
            modeladmin,
            request,
            queryset.select_related("rule", "transfer"),
            action=name,
            title=title,
            reason_required=True,
            apply=apply,
            done=done,
            label=lambda a: f"alert {a.pk} ({a.rule.name} on {a.transfer.reference})",
        )

    run.__name__ = name
    return admin.action(description=f"{title} (note required)", permissions=["change"])(run)


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
    ]
    list_select_related = ["rule", "transfer", "profile"]
    list_filter = ["status", "kind", "raised_by", "rule", "created_at"]
    search_fields = ["transfer__reference", "profile__legal_name", "rule__name"]
    readonly_fields = [f.name for f in MonitoringAlert._meta.fields]
    actions = [
        _decision(
            "clear",
            title="Clear (not suspicious): the hold lifts",
            service=services.monitoring_alert_clear,
            done="cleared",
        ),
        _decision(
            "confirm",
            title="Confirm (suspicious): the hold stays",
            service=services.monitoring_alert_confirm,
            done="confirmed",
        ),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # raised only by the rules

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Decisions go through the actions (audited, with a note); the page is read-only.
        return False if obj is not None else super().has_change_permission(request)
