"""Operator console for beneficiaries: masked details only, never the encrypted field.

Beneficiaries are added by customers (API) through `beneficiary_create`; there is no admin
add form. Bank details never change: a correction is a new beneficiary and the old one is
deactivated with the action here, which asks for a reason and calls the service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from fintech.beneficiaries.models import Beneficiary
from fintech.beneficiaries.services import beneficiary_deactivate
from fintech.customers.admin_helpers import action_with_reason

FIELDS = (
    "profile",
    "holder_name",
    "currency",
    "country",
    "scheme",
    "masked_details",
    "is_active",
    "created_at",
    "deactivated_at",
)


@admin.register(Beneficiary)
class BeneficiaryAdmin(admin.ModelAdmin):
    list_display = [
        "holder_name",
        "profile",
        "currency",
        "country",
        "scheme",
        "masked_details",
        "is_active",
        "created_at",
    ]
    list_select_related = ["profile"]
    list_filter = ["is_active", "scheme", "currency", "country", "profile__is_sandbox"]
    # masked_details holds the last four characters, so operators can search by them.
    search_fields = ["holder_name", "profile__legal_name", "masked_details"]
    date_hierarchy = "created_at"
    # The encrypted field is neither a form field nor a read-only field: never rendered.
    exclude = ["bank_details"]
    fields = FIELDS
    readonly_fields = FIELDS
    actions = ["deactivate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Beneficiary]:
        # Not even decrypted in memory for the console.
        return super().get_queryset(request).defer("bank_details")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # transfers point at beneficiaries; deactivate instead

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Read-only change page; the model-level permission gates the deactivate action.
        return False if obj is not None else super().has_change_permission(request)

    @admin.action(description="Deactivate selected beneficiaries (asks for a reason)",
                  permissions=["change"])  # fmt: skip
    def deactivate(
        self, request: HttpRequest, queryset: QuerySet[Beneficiary]
    ) -> TemplateResponse | None:
        return action_with_reason(
            self,
            request,
            queryset,
            action="deactivate",
            title="Deactivate beneficiaries",
            reason_required=True,
            apply=lambda actor, b, reason: beneficiary_deactivate(
                actor=actor, beneficiary=b, reason=reason
            ),
            done="deactivated",
        )
