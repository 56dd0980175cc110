"""Operator screens for the platform records: the event log (outbox). Read-only evidence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from fintech.core.models import OutboxEvent
from fintech.core.services import outbox_requeue


class AgeFilter(admin.SimpleListFilter):
    """The question an operator asks of the outbox: is anything stuck?"""

    title = "age"
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("pending_1m", "pending over a minute (relay stuck?)"),
            ("pending_1h", "pending over an hour"),
            ("24h", "last 24 hours"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        value = self.value()
        if value == "pending_1m":
            return queryset.filter(
                status=OutboxEvent.Status.PENDING, occurred_at__lt=now - timedelta(minutes=1)
            )
        if value == "pending_1h":
            return queryset.filter(
                status=OutboxEvent.Status.PENDING, occurred_at__lt=now - timedelta(hours=1)
            )
        if value == "24h":
            return queryset.filter(occurred_at__gte=now - timedelta(hours=24))
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "type",
        "version",
        "profile_id",
        "status",
        "dispatch_attempts",
        "dispatched_at",
    ]
    list_filter = ["status", AgeFilter, "type"]
    search_fields = ["=id", "type", "=profile_id"]
    date_hierarchy = "occurred_at"
    ordering = ["-occurred_at"]
    readonly_fields = [
        "id",
        "type",
        "version",
        "occurred_at",
        "profile_id",
        "payload",
        "status",
        "dispatched_at",
        "dispatch_attempts",
        "dispatch_until",
        "last_error",
    ]
    actions = ["redispatch"]
    show_full_result_count = False  # a large log: an exact count per page is wasted work

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # Status "Dead" lists the events parked after repeated dispatch failures, with their error.
    @admin.action(description="Dispatch again (consumers ignore what they already did)")
    def redispatch(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        count = outbox_requeue(event_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request, f"{count} event(s) put back for the relay.", level=messages.SUCCESS
        )
