"""The exception inbox in the admin (Integrations > Exception inbox).

Each role sees only the items of sources whose model it may view (selectors.items_visible_to);
an item of another source is a 404. Rows link to the source row's admin page, where the
fixing action is (retry, redeliver, reprocess, reconnect...). Actions: assign to me, assign
to a colleague, unassign, snooze (until a time, with a reason), resolve (with a note); each
calls a service that audits it with the staff user as actor."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from fintech.core.errors import DomainError
from fintech.customers.admin_helpers import actor_for_request
from integrations.inbox import services
from integrations.inbox.selectors import (
    items_visible_to,
    open_q,
    snoozed_q,
    source_fix,
    source_link,
)
from integrations.inbox.sources import sources_visible_to
from integrations.models import ExceptionItem

FORM_TEMPLATE = "admin/integrations/exceptionitem/action_form.html"
DETAIL_FIELDS: tuple[str, ...] = (
    "source",
    "source_id",
    "source_row",
    "severity",
    "title",
    "opened_at",
    "detected_at",
    "owner",
    "snoozed_until",
    "snooze_reason",
    "resolved_at",
    "resolved_by",
    "resolution_note",
)


class StatusFilter(admin.SimpleListFilter):
    """Open by default: what needs someone now (a snooze that ran out is open again)."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("snoozed", "Snoozed"), ("resolved", "Resolved"), ("all", "All")]

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Open",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "snoozed":
            return queryset.filter(snoozed_q())
        if value == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        if value == "all":
            return queryset
        return queryset.filter(open_q())


class SourceFilter(admin.SimpleListFilter):
    """Only the sources this user may see are offered."""

    title = "source"
    parameter_name = "source"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        labels = dict(ExceptionItem.Source.choices)
        return [(key, labels[key]) for key in sources_visible_to(request.user)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(source=self.value()) if self.value() else queryset


class OwnerFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "owner"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("me", "Mine"), ("none", "Unassigned"), ("others", "Someone else's")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "me":
            return queryset.filter(owner=request.user)
        if value == "none":
            return queryset.filter(owner__isnull=True)
        if value == "others":
            return queryset.exclude(owner__isnull=True).exclude(owner=request.user)
        return queryset


class SnoozeForm(forms.Form):
    until = forms.DateTimeField(
        help_text="It comes back to the open list by itself then (YYYY-MM-DD HH:MM, UTC).",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), max_length=2000)

    def clean_until(self) -> Any:
        until = self.cleaned_data["until"]
        if until <= timezone.now():
            raise forms.ValidationError("Snooze until a future time.")
        return until


class ResolveForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        max_length=2000,
        help_text="What was done. Recorded in the audit trail with your name.",
    )


class AssignForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["owner"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = get_user_model().objects.filter(is_staff=True, is_active=True)


@admin.register(ExceptionItem)
class ExceptionItemAdmin(admin.ModelAdmin):
    list_display = [
        "severity_label",
        "source",
        "title_link",
        "fix",
        "age",
        "owner",
        "status",
    ]
    list_display_links = None
    list_filter = [StatusFilter, SourceFilter, "severity", OwnerFilter]
    search_fields = ["title", "source_id"]
    ordering = ["-severity", "opened_at", "id"]
    list_per_page = 100
    show_full_result_count = False  # a count(*) of 100,000 items on every page: not needed
    actions = ["assign_to_me", "assign_to", "unassign", "snooze", "resolve"]
    fields = DETAIL_FIELDS
    readonly_fields = DETAIL_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExceptionItem]:
        return items_visible_to(request.user).select_related("owner")

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        # Another role's item is a 404, never a redirect that tells it exists.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such exception")
        return obj

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The detail page is read-only; changes go through the actions (audited services).
        return False if obj is not None else super().has_change_permission(request)

    # --- columns ------------------------------------------------------------------------------
    @admin.display(description="severity", ordering="severity")
    def severity_label(self, obj: ExceptionItem) -> str:
        return obj.get_severity_display()

    @admin.display(description="problem")
    def title_link(self, obj: ExceptionItem) -> str:
        url = source_link(obj)
        return format_html('<a href="{}">{}</a>', url, obj.title) if url else obj.title

    @admin.display(description="what fixes it")
    def fix(self, obj: ExceptionItem) -> str:
        return source_fix(obj)

    @admin.display(description="source row")
    def source_row(self, obj: ExceptionItem) -> str:
        url = source_link(obj)
        return format_html('<a href="{}">{}</a>', url, source_fix(obj)) if url else "-"

    @admin.display(description="age", ordering="opened_at")
    def age(self, obj: ExceptionItem) -> str:
        return timesince(obj.opened_at)

    @admin.display(description="status")
    def status(self, obj: ExceptionItem) -> str:
        if obj.resolved_at is not None:
            return "resolved"
        if obj.snoozed_until is not None and obj.snoozed_until > timezone.now():
            return f"snoozed until {obj.snoozed_until:%Y-%m-%d %H:%M}: {obj.snooze_reason[:60]}"
        return "open"

    # --- actions ------------------------------------------------------------------------------
    def _report(self, request: HttpRequest, done: int, asked: int, what: str) -> None:
        self.message_user(request, f"{done} of {asked} {what}.", messages.SUCCESS)

    def _apply(self, request: HttpRequest, queryset: QuerySet[Any], what: str, **kw: Any) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        call = getattr(services, f"exception_{kw.pop('verb')}")
        try:
            done = call(actor=actor_for_request(request), user=request.user, item_ids=ids, **kw)
        except DomainError as exc:
            self.message_user(request, f"Nothing changed: {exc.message}", messages.ERROR)
        else:
            self._report(request, done, len(ids), what)

    def _form_page(
        self, request: HttpRequest, queryset: QuerySet[Any], *, action: str, title: str, form: Any
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "objects": [str(obj) for obj in queryset],
            "selected": [obj.pk for obj in queryset],
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, FORM_TEMPLATE, context)

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._apply(request, queryset, "assigned to you", verb="assign", owner=request.user)

    @admin.action(description="Unassign", permissions=["change"])
    def unassign(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._apply(request, queryset, "unassigned", verb="assign", owner=None)

    @admin.action(description="Assign to a colleague…", permissions=["change"])
    def assign_to(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        form = AssignForm(request.POST if request.POST.get("confirm") == "yes" else None)
        if form.is_bound and form.is_valid():
            owner = form.cleaned_data["owner"]
            self._apply(request, queryset, f"assigned to {owner}", verb="assign", owner=owner)
            return None
        return self._form_page(request, queryset, action="assign_to", title="Assign", form=form)

    @admin.action(description="Snooze until a time, with a reason…", permissions=["change"])
    def snooze(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        form = SnoozeForm(request.POST if request.POST.get("confirm") == "yes" else None)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            self._apply(request, queryset, "snoozed", verb="snooze", until=data["until"],
                        reason=data["reason"])  # fmt: skip
            return None
        return self._form_page(request, queryset, action="snooze", title="Snooze", form=form)

    @admin.action(description="Resolve with a note…", permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        form = ResolveForm(request.POST if request.POST.get("confirm") == "yes" else None)
        if form.is_bound and form.is_valid():
            note = form.cleaned_data["note"]
            self._apply(request, queryset, "resolved", verb="resolve", note=note)
            return None
        return self._form_page(request, queryset, action="resolve", title="Resolve", form=form)
