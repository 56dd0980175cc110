"""Quotes in the operator console: read-only (a quote is a price we gave; nobody edits it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from fintech.core.money import format_minor
from fintech.quotes.models import Quote


class ExpiredFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expired"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Still valid"), ("yes", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Quote]) -> QuerySet[Quote]:
        if self.value() == "yes":
            return queryset.filter(expires_at__lte=timezone.now())
        if self.value() == "no":
            return queryset.filter(expires_at__gt=timezone.now())
        return queryset


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "profile",
        "pair",
        "source_display",
        "target_display",
        "fee_display",
        "customer_rate",
        "expires_at",
        "expired",
        "transfer_reference",
    )
    list_filter = (
        ExpiredFilter,
        "fixed_side",
        "source_currency",
        "target_currency",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("=id", "profile__legal_name", "=transfer__reference")
    # Reverse one-to-one in the same JOIN: the "used by" column costs no query per row.
    list_select_related = ("profile", "transfer")
    date_hierarchy = "created_at"
    readonly_fields = (
        "source_display",
        "target_display",
        "fee_display",
        "fee_rule",
        "transfer_reference",
    )
    fieldsets = (
        (None, {"fields": ("id", "profile", "fixed_side", "transfer_reference")}),
        ("Amounts", {"fields": ("source_display", "target_display", "fee_display", "fee_rule")}),
        (
            "Rate",
            {
                "fields": (
                    "mid_rate",
                    "margin_bps",
                    "customer_rate",
                    "rounding_mode",
                    "rate_source",
                    "rate_time",
                )
            },
        ),
        ("Validity", {"fields": ("created_at", "expires_at", "delivery_estimate")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Quote | None = None) -> Any:
        return (*self.readonly_fields, "id", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Quote | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Quote | None = None) -> bool:
        return False

    @admin.display(description="quote")
    def short_id(self, obj: Quote) -> str:
        return str(obj.pk)[:8]

    @admin.display(description="pair")
    def pair(self, obj: Quote) -> str:
        return f"{obj.source_currency} → {obj.target_currency}"

    @admin.display(description="customer pays", ordering="source_amount_minor")
    def source_display(self, obj: Quote) -> str:
        return f"{format_minor(obj.source_amount_minor, obj.source_currency)} {obj.source_currency}"

    @admin.display(description="beneficiary gets", ordering="target_amount_minor")
    def target_display(self, obj: Quote) -> str:
        return f"{format_minor(obj.target_amount_minor, obj.target_currency)} {obj.target_currency}"

    @admin.display(description="fee")
    def fee_display(self, obj: Quote) -> str:
        return f"{format_minor(obj.fee_minor, obj.source_currency)} {obj.source_currency}"

    @admin.display(description="fee rule")
    def fee_rule(self, obj: Quote) -> str:
        fixed = format_minor(obj.fee_fixed_minor, obj.source_currency)
        return f"{fixed} {obj.source_currency} + {obj.fee_bps} bps of the source amount"

    @admin.display(description="expired", boolean=True)
    def expired(self, obj: Quote) -> bool:
        return obj.is_expired()

    @admin.display(description="used by")
    def transfer_reference(self, obj: Quote) -> str:
        transfer = getattr(obj, "transfer", None)
        return transfer.reference if transfer is not None else "—"
