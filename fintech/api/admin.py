"""Operator screens for the API: clients (bound profile, scopes), idempotency keys, request log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from fintech.api.models import ApiClient, ApiRequestLog, IdempotencyRecord
from fintech.api.scopes import SCOPES
from fintech.core.admin import ReadOnlyAdmin


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, f"{scope}: {text}") for scope, text in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = ApiClient
        fields = ["application", "profile", "scopes", "is_sandbox", "rate_limit_per_minute"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = [
        "application_name",
        "client_id",
        "profile",
        "grant_type",
        "scope_list",
        "is_sandbox",
        "created_at",
    ]
    list_filter = ["is_sandbox", "application__authorization_grant_type"]
    search_fields = ["application__name", "application__client_id", "profile__legal_name"]
    list_select_related = ["application", "profile"]
    autocomplete_fields = ["profile"]
    raw_id_fields = ["application"]

    @admin.display(description="application", ordering="application__name")
    def application_name(self, obj: ApiClient) -> str:
        return str(obj.application.name)

    @admin.display(description="client id")
    def client_id(self, obj: ApiClient) -> str:
        return str(obj.application.client_id)

    @admin.display(description="grant type")
    def grant_type(self, obj: ApiClient) -> str:
        return str(obj.application.authorization_grant_type)

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiClient) -> str:
        return " ".join(obj.scopes)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "key",
        "application",
        "method",
        "path",
        "response_status",
        "created_at",
    ]
    list_filter = ["response_status"]
    search_fields = ["key", "path", "request_id", "application__client_id"]
    list_select_related = ["application"]
    date_hierarchy = "created_at"


class StatusClassFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status_class"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("2", "2xx success"), ("4", "4xx client error"), ("5", "5xx server error")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value in ("2", "4", "5"):
            low = int(value) * 100
            return queryset.filter(status__gte=low, status__lt=low + 100)
        return queryset


@admin.register(ApiRequestLog)
class ApiRequestLogAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "method",
        "path",
        "status",
        "latency_ms",
        "application",
        "request_id",
    ]
    list_filter = [StatusClassFilter, "method", ("application", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["path", "request_id"]
    list_select_related = ["application"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the log is large; an exact count per page is wasted work
