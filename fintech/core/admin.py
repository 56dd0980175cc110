"""Operator screens for the platform records: the audit trail, the event log (outbox) and the
dead letters. Read-only evidence; the only actions call services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode

from fintech.core.audit_export import (
    ExportRefused,
    audit_events_for_export,
    audit_events_visible,
    audit_export_csv,
    audit_export_filters,
    audit_export_record,
)
from fintech.core.dead_letters import dead_letter_resolve
from fintech.core.models import AuditEvent, DeadLetter, OutboxEvent
from fintech.core.services import Actor, outbox_requeue
from fintech.customers.admin_helpers import action_with_reason, actor_for_request


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence, not data entry: nobody adds, edits or deletes these rows by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
class OutboxEventAdmin(ReadOnlyAdmin):
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
    search_fields = ["=id", "type", "=profile_id", "=request_id"]
    date_hierarchy = "occurred_at"
    ordering = ["-occurred_at"]
    readonly_fields = [
        "id",
        "type",
        "version",
        "occurred_at",
        "profile_id",
        "request_id",
        "payload",
        "status",
        "dispatched_at",
        "dispatch_attempts",
        "dispatch_until",
        "last_error",
    ]
    actions = ["redispatch"]
    show_full_result_count = False  # a large log: an exact count per page is wasted work

    # Status "Dead" lists the events parked after repeated dispatch failures, with their error.
    @admin.action(description="Dispatch again (consumers ignore what they already did)")
    def redispatch(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        count = outbox_requeue(event_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request, f"{count} event(s) put back for the relay.", level=messages.SUCCESS
        )


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "open"), ("resolved", "resolved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


EXCERPT_CHARS = 2000


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """Rows the drains parked. Only an excerpt of each payload is shown (it may hold a
    customer's request); the action records how it was handled."""

    list_display = ["created_at", "source", "reference", "error_class", "short_error", "state"]
    list_filter = [OpenFilter, "source", "error_class"]
    search_fields = ["=reference", "error_message"]
    date_hierarchy = "created_at"
    list_select_related = ["resolved_by"]
    show_full_result_count = False
    fields = (
        "source",
        "reference",
        "created_at",
        "error_class",
        "error_message",
        "payload_excerpt",
        "resolved_at",
        "resolved_by",
        "resolution_note",
    )
    readonly_fields = fields
    actions = ["resolve"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="error")
    def short_error(self, obj: DeadLetter) -> str:
        return obj.error_message[:100]

    @admin.display(description="state")
    def state(self, obj: DeadLetter) -> str:
        return "open" if obj.resolved_at is None else "resolved"

    @admin.display(description=f"payload (first {EXCERPT_CHARS} characters)")
    def payload_excerpt(self, obj: DeadLetter) -> str:
        return obj.payload[:EXCERPT_CHARS]

    @admin.action(description="Mark resolved with a note…", permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> Any:
        def apply(actor: Actor, letter: DeadLetter, note: str) -> int:
            return dead_letter_resolve(actor=actor, dead_letter_ids=[letter.pk], note=note)

        return action_with_reason(
            self,
            request,
            queryset.filter(resolved_at__isnull=True),
            action="resolve",
            title="Mark resolved",
            reason_required=True,
            apply=apply,
            done="resolved",
        )


class ActorKindFilter(admin.SimpleListFilter):
    """Who acted: a person, an OAuth application, a system job, or an anonymous caller."""

    title = "actor kind"
    parameter_name = "actor_kind"
    PREFIXES = {
        "user": "user:",
        "application": "application:",
        "system": "system:",
        "address": "address:",
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("user", "staff or customer user"),
            ("application", "OAuth application"),
            ("system", "system job"),
            ("address", "anonymous caller (by address)"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        prefix = self.PREFIXES.get(self.value() or "")
        return queryset.filter(actor_label__startswith=prefix) if prefix else queryset


class RecentFilter(admin.SimpleListFilter):
    title = "time"
    parameter_name = "recent"
    PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1h", "last hour"), ("24h", "last 24 hours"), ("7d", "last 7 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        period = self.PERIODS.get(self.value() or "")
        if period is None:
            return queryset
        return queryset.filter(occurred_at__gte=timezone.now() - period)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit trail: every business action with its actor, object, reason and request.

    Read-only for everyone. Filters by actor (kind, or exactly: click an actor), by object
    (type, or exactly: click an object for its whole history) and by time."""

    list_display = ["occurred_at", "action", "actor_link", "target_link", "reason", "request_id"]
    list_filter = [RecentFilter, ActorKindFilter, "target_type", "action"]
    search_fields = ["=actor_label", "=target_id", "=request_id", "action"]
    date_hierarchy = "occurred_at"
    ordering = ["-occurred_at", "-id"]
    readonly_fields = [
        "occurred_at",
        "actor",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "reason",
        "request_id",
        "data",
    ]
    list_select_related = ["actor"]
    show_full_result_count = False  # a large log: an exact count per page is wasted work
    # Exact actor and object, as linked from each row (?actor_label=... / ?target_type=...&
    # target_id=...): plain field lookups, allowed below.
    EXACT_LOOKUPS = {"actor_label", "target_type", "target_id", "request_id"}

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup in self.EXACT_LOOKUPS or super().lookup_allowed(lookup, value, request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return audit_events_visible(super().get_queryset(request), request.user)

    # The CSV export takes the exact actor and object filters the list has; its range
    # (since/until) is its own (the list knows no such parameters).
    EXPORT_FILTERS = ("actor_label", "target_type", "target_id")

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="core_auditevent_export",
            ),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        carried = {k: str(request.GET[k]) for k in self.EXPORT_FILTERS if request.GET.get(k)}
        context = {
            **(extra_context or {}),
            "export_url": reverse("admin:core_auditevent_export")
            + (f"?{urlencode(carried)}" if carried else ""),
            "export_max_days": settings.AUDIT_EXPORT_MAX_DAYS,
        }
        return super().changelist_view(request, context)

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """CSV of the trail by actor, object and time range (default: the last
        AUDIT_EXPORT_MAX_DAYS days), streamed from a server-side cursor; the export is itself
        an audit row. Staff who may view the trail only (core.view_auditevent)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            filters = audit_export_filters(request.GET, now=timezone.now())
        except ExportRefused as refused:
            self.message_user(request, f"Not exported: {refused}", messages.ERROR)
            back = {k: str(request.GET[k]) for k in self.EXPORT_FILTERS if request.GET.get(k)}
            changelist = reverse("admin:core_auditevent_changelist")
            return HttpResponseRedirect(f"{changelist}?{urlencode(back)}" if back else changelist)
        audit_export_record(actor=actor_for_request(request), filters=filters)
        response = StreamingHttpResponse(
            audit_export_csv(audit_events_for_export(filters, user=request.user)),
            content_type="text/csv",
        )
        name = f"audit-{filters.since:%Y%m%dT%H%M}-{filters.until:%Y%m%dT%H%M}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response

    @admin.display(description="actor", ordering="actor_label")
    def actor_link(self, event: AuditEvent) -> str:
        query = urlencode({"actor_label": event.actor_label})
        return format_html('<a href="?{}">{}</a>', query, event.actor_label)

    @admin.display(description="object")
    def target_link(self, event: AuditEvent) -> str:
        query = urlencode({"target_type": event.target_type, "target_id": event.target_id})
        return format_html('<a href="?{}">{}:{}</a>', query, event.target_type, event.target_id)


# Staff accounts with their two-factor state (imported for its registrations).
from fintech.core import admin_users  # noqa: E402, F401
