"""Disputes in the operator console: read-only pages, decisions as actions that ask for a
reason and call the dispute services (lock, transition, ledger, audit, event)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from fintech.core.money import format_minor
from fintech.core.services import Actor
from fintech.customers.admin_helpers import action_with_reason
from fintech.disputes.models import Dispute
from fintech.disputes.services import dispute_decide, dispute_request_evidence, dispute_review

DECIDE_PERMISSION = "decide"  # Dispute.Meta.permissions: disputes.decide_dispute


class OverdueFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Open and past its deadline")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Dispute]) -> QuerySet[Dispute]:
        if self.value() != "yes":
            return queryset
        return queryset.filter(state__in=Dispute.OPEN_STATES, respond_by__lte=timezone.now())


def _label(dispute: Dispute) -> str:
    return f"Dispute {dispute.pk} ({dispute.subject})"


def _decision(outcome: str, title: str, done: str) -> Any:
    def apply(actor: Actor, dispute: Dispute, reason: str) -> object:
        return dispute_decide(actor=actor, dispute_id=dispute.pk, outcome=outcome, reason=reason)

    def run(
        modeladmin: DisputeAdmin, request: HttpRequest, queryset: QuerySet[Dispute]
    ) -> TemplateResponse | None:
        return action_with_reason(
            modeladmin, request, queryset, action=f"decide_{outcome}", title=title,
            reason_required=True, apply=apply, done=done, label=_label,
        )  # fmt: skip

    run.__name__ = f"decide_{outcome}"
    return admin.action(description=title, permissions=[DECIDE_PERMISSION])(run)


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ("id", "transfer", "funding_entry_id", "profile", "reason", "state", "amount",
                    "respond_by", "created_at")  # fmt: skip
    list_filter = ("state", "reason", OverdueFilter)
    search_fields = ("transfer__reference", "profile__name", "=id", "=funding_entry_id")
    list_select_related = ("transfer", "profile")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Dispute._meta.fields]
    actions = [
        "request_evidence",
        "mark_under_review",
        _decision(Dispute.State.WON, "Decide: won (release the hold)", "won, hold released"),
        _decision(
            Dispute.State.LOST,
            "Decide: lost (refund the transfer, or return the funding)",
            "lost, refunded",
        ),
        _decision(Dispute.State.WITHDRAWN, "Withdraw (release the hold)", "withdrawn"),
    ]

    @admin.display(description="amount")
    def amount(self, dispute: Dispute) -> str:
        return f"{format_minor(dispute.amount_minor, dispute.currency)} {dispute.currency}"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("disputes.decide_dispute"))

    @admin.action(description="Ask the customer for evidence", permissions=[DECIDE_PERMISSION])
    def request_evidence(
        self, request: HttpRequest, queryset: QuerySet[Dispute]
    ) -> TemplateResponse | None:
        return action_with_reason(
            self, request, queryset, action="request_evidence", title="Ask for evidence",
            reason_required=True, label=_label, done="evidence requested",
            apply=lambda actor, d, reason: dispute_request_evidence(
                actor=actor, dispute_id=d.pk, reason=reason),
        )  # fmt: skip

    @admin.action(description="Mark under review", permissions=[DECIDE_PERMISSION])
    def mark_under_review(
        self, request: HttpRequest, queryset: QuerySet[Dispute]
    ) -> TemplateResponse | None:
        return action_with_reason(
            self, request, queryset, action="mark_under_review", title="Mark under review",
            reason_required=True, label=_label, done="under review",
            apply=lambda actor, d, reason: dispute_review(
                actor=actor, dispute_id=d.pk, reason=reason),
        )  # fmt: skip
