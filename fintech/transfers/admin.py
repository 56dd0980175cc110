"""Transfers in the operator console.

Read-only pages; the only way to move a transfer is a transition button that asks for a reason
on a confirmation page and then calls the transition SERVICE (lock, transition, ledger, audit,
event), never the bare model transition.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.timesince import timesince

from fintech.core.errors import DomainError
from fintech.core.money import format_minor
from fintech.core.services import Actor
from fintech.monitoring.selectors import transfer_compliance_held
from fintech.transfers.models import Transfer, TransferTransition
from fintech.transfers.services import TRANSITION_SERVICES

TRANSITION_PERMISSION = "transfers.transition_transfer"

# What the buttons say, in the order they are shown.
ACTION_LABELS: dict[str, str] = {
    "fund": "Mark funded",
    "submit": "Submit to payout partner",
    "complete": "Mark completed",
    "fail": "Mark failed",
    "cancel": "Cancel transfer",
    "refund": "Refund",
}

STUCK_PROCESSING_AFTER = dt.timedelta(hours=1)
STUCK_FUNDED_AFTER = dt.timedelta(days=1)


def _money(amount_minor: int, currency: str) -> str:
    return f"{format_minor(amount_minor, currency)} {currency}"


def _actor(request: HttpRequest) -> Actor:
    request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    return Actor.for_user(request.user, request_id=request_id[:64])


class StuckFilter(admin.SimpleListFilter):
    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Stuck (processing > 1 hour or funded > 1 day)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> QuerySet[Transfer]:
        if self.value() != "yes":
            return queryset
        now = timezone.now()
        return queryset.filter(
            Q(state=Transfer.State.PROCESSING, submitted_at__lt=now - STUCK_PROCESSING_AFTER)
            | Q(state=Transfer.State.FUNDED, funded_at__lt=now - STUCK_FUNDED_AFTER)
        )


class ReadOnlyAdminMixin:
    """Money objects are never added, edited or deleted by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TransferTransitionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TransferTransition
    fields = (
        "occurred_at",
        "transition",
        "source_state",
        "target_state",
        "actor_label",
        "reason",
        "request_id",
    )
    readonly_fields = fields
    ordering = ("occurred_at", "id")
    extra = 0
    can_delete = False
    verbose_name = "transition"
    verbose_name_plural = "timeline"

    def get_queryset(self, request: HttpRequest) -> QuerySet[TransferTransition]:
        # Each row's title prints its transfer: fetch it in the same query, not once per row.
        return super().get_queryset(request).select_related("transfer")


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Recorded on the transfer's timeline and in the audit trail.",
    )


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    change_form_template = "admin/transfers/transfer/change_form.html"
    list_display = (
        "reference",
        "profile",
        "source_display",
        "target_display",
        "state",
        "created_at",
        "age",
    )
    list_filter = (
        "state",
        StuckFilter,
        "source_currency",
        "target_currency",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("reference", "customer_transaction_id", "profile__legal_name")
    list_select_related = ("profile",)
    date_hierarchy = "created_at"
    inlines = (TransferTransitionInline,)
    readonly_fields = (
        "source_display",
        "target_display",
        "fee_display",
        "rate_display",
        "age",
        "accounting_sync",
        "compliance_hold",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "reference",
                    "state",
                    "profile",
                    "customer_transaction_id",
                    "beneficiary",
                    "quote",
                    "compliance_hold",
                    "accounting_sync",
                )
            },
        ),
        (
            "Amounts",
            {"fields": ("source_display", "target_display", "fee_display", "rate_display")},
        ),
        (
            "Times",
            {
                "fields": (
                    "created_at",
                    "age",
                    "funded_at",
                    "submitted_at",
                    "completed_at",
                    "failed_at",
                    "cancelled_at",
                    "refunded_at",
                    "failure_reason",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Transfer]:
        return super().get_queryset(request).select_related("profile", "beneficiary", "quote")

    def get_readonly_fields(self, request: HttpRequest, obj: Transfer | None = None) -> Any:
        return (*self.readonly_fields, "created_at")

    @admin.display(description="compliance hold")
    def compliance_hold(self, obj: Transfer) -> str:
        """That compliance holds it, never why (support reads this page): the reasons are in
        the monitoring alerts and screening hits, which only compliance sees."""
        if transfer_compliance_held(obj):
            return "Held by compliance: it will not be submitted until compliance releases it"
        return "No"

    @admin.display(description="accounting sync")
    def accounting_sync(self, obj: Transfer) -> str:
        """A link to its sync status (jobs, external references) in every connected system;
        by URL name: the console's integrations pages are not imported here."""
        try:
            url = reverse("admin:integrations_syncjob_object_status")
        except NoReverseMatch:
            return "—"
        query = urlencode({"object_type": "transfer", "object_id": obj.reference})
        return format_html('<a href="{}?{}">sync status and external references</a>', url, query)

    @admin.display(description="customer pays", ordering="source_amount_minor")
    def source_display(self, obj: Transfer) -> str:
        return _money(obj.source_amount_minor, obj.source_currency)

    @admin.display(description="beneficiary gets", ordering="target_amount_minor")
    def target_display(self, obj: Transfer) -> str:
        return _money(obj.target_amount_minor, obj.target_currency)

    @admin.display(description="fee")
    def fee_display(self, obj: Transfer) -> str:
        return _money(obj.fee_minor, obj.source_currency)

    @admin.display(description="customer rate")
    def rate_display(self, obj: Transfer) -> str:
        q = obj.quote
        return f"1 {q.source_currency} = {q.customer_rate.normalize()} {q.target_currency}"

    @admin.display(description="age", ordering="created_at")
    def age(self, obj: Transfer) -> str:
        return timesince(obj.created_at, depth=1)

    # Transition buttons -----------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/transition/<str:action>/",
                self.admin_site.admin_view(self.transition_view),
                name="transfers_transfer_transition",
            ),
            *super().get_urls(),
        ]

    @staticmethod
    def available_actions(transfer: Transfer) -> list[str]:
        allowed = {t.name for t in transfer.get_available_state_transitions()}  # type: ignore[attr-defined]
        return [action for action in ACTION_LABELS if action in allowed]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Transfer | None = None,
    ) -> HttpResponse:
        if obj is not None and request.user.has_perm(TRANSITION_PERMISSION):
            context["transition_buttons"] = [
                {
                    "action": action,
                    "label": ACTION_LABELS[action],
                    "url": reverse("admin:transfers_transfer_transition", args=[obj.pk, action]),
                }
                for action in self.available_actions(obj)
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def transition_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        if not request.user.has_perm(TRANSITION_PERMISSION):
            raise PermissionDenied
        if action not in TRANSITION_SERVICES:
            raise Http404(f"no transition {action!r}")
        transfer = get_object_or_404(self.get_queryset(request), pk=object_id)
        change_url = reverse("admin:transfers_transfer_change", args=[transfer.pk])
        if action not in self.available_actions(transfer):
            messages.error(
                request,
                f"Cannot {action} transfer {transfer.reference}: it is {transfer.state}. "
                "Nothing was changed.",
            )
            return HttpResponseRedirect(change_url)

        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            service = TRANSITION_SERVICES[action]
            try:
                moved = service(
                    actor=_actor(request),
                    transfer_id=transfer.pk,
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                # E.g. someone else moved it since the page was shown: the service refused
                # under the row lock and rolled back.
                messages.error(request, f"{exc.message}. Nothing was changed.")
            else:
                messages.success(request, f"Transfer {moved.reference} is now {moved.state}.")
            return HttpResponseRedirect(change_url)

        target = next(
            t.target
            for t in transfer.get_available_state_transitions()  # type: ignore[attr-defined]
            if t.name == action
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{ACTION_LABELS[action]}: {transfer.reference}",
            "transfer": transfer,
            "action": action,
            "action_label": ACTION_LABELS[action],
            "target_state": target,
            "source_display": self.source_display(transfer),
            "target_display": self.target_display(transfer),
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(
            request, "admin/transfers/transfer/transition_confirm.html", context
        )


@admin.register(TransferTransition)
class TransferTransitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "transfer",
        "transition",
        "source_state",
        "target_state",
        "actor_label",
        "reason",
    )
    list_filter = ("transition", "target_state", ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("transfer__reference", "actor_label", "request_id")
    list_select_related = ("transfer",)
    date_hierarchy = "occurred_at"
