"""Operator console for compliance: the review queue and the decisions on it.

Every decision is an admin action that asks for a reason on a confirmation page and then
calls the service for each selected row; a transition the row's state does not allow is
reported for that row and changes nothing. Rows are otherwise read-only, and created only
by `profile_create`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from fintech.compliance import services
from fintech.compliance.models import (
    CaseItem,
    ComplianceStatus,
    SanctionsEntry,
    SanctionsListVersion,
    ScreeningHit,
)
from fintech.compliance.screening import services as screening
from fintech.core.errors import Conflict
from fintech.core.models import AuditEvent
from fintech.core.services import Actor
from fintech.customers.admin_helpers import action_with_reason

READONLY = (
    "profile",
    "state",
    "review_required",
    "review_reason",
    "submitted_at",
    "decided_at",
    "updated_at",
    "audit_trail",
)


def _decision(
    name: str,
    *,
    title: str,
    reason_required: bool,
    service: Callable[..., ComplianceStatus],
    done: str,
) -> Callable[[Any, HttpRequest, QuerySet[ComplianceStatus]], TemplateResponse | None]:
    """One admin action per service, all shaped the same way."""

    def run(
        modeladmin: ComplianceStatusAdmin,
        request: HttpRequest,
        queryset: QuerySet[ComplianceStatus],
    ) -> TemplateResponse | None:
        def apply(actor: Actor, status: ComplianceStatus, reason: str) -> object:
            return service(actor=actor, status=status, reason=reason)

        return action_with_reason(
            modeladmin,
            request,
            queryset.select_related("profile"),
            action=name,
            title=title,
            reason_required=reason_required,
            apply=apply,
            done=done,
            label=lambda status: str(status.profile),
        )

    run.__name__ = name
    suffix = " (reason required)" if reason_required else ""
    return admin.action(description=f"{title}{suffix}", permissions=["change"])(run)


@admin.register(ComplianceStatus)
class ComplianceStatusAdmin(admin.ModelAdmin):
    list_display = [
        "profile",
        "profile_kind",
        "state",
        "review_required",
        "short_review_reason",
        "submitted_at",
        "decided_at",
        "updated_at",
    ]
    list_select_related = ["profile"]
    list_filter = ["state", "review_required", "profile__kind", "profile__is_sandbox"]
    search_fields = ["profile__legal_name", "profile__registration_number", "profile__email"]
    ordering = ["-updated_at", "-id"]
    readonly_fields = READONLY
    fields = READONLY
    actions = [
        _decision(
            "submit",
            title="Submit for review",
            reason_required=False,
            service=services.compliance_submit,
            done="submitted",
        ),
        _decision(
            "verify",
            title="Verify",
            reason_required=False,
            service=services.compliance_verify,
            done="verified",
        ),
        _decision(
            "reject",
            title="Reject",
            reason_required=True,
            service=services.compliance_reject,
            done="rejected",
        ),
        _decision(
            "resubmit",
            title="Resubmit after rejection",
            reason_required=True,
            service=services.compliance_resubmit,
            done="resubmitted",
        ),
        _decision(
            "flag_review",
            title="Flag for review",
            reason_required=True,
            service=services.compliance_flag_review,
            done="flagged for review",
        ),
        _decision(
            "clear_review",
            title="Clear review flag",
            reason_required=False,
            service=services.compliance_clear_review,
            done="review cleared",
        ),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created with its profile by profile_create

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The change page is read-only (state moves only through the actions); the
        # model-level permission still gates the actions.
        return False if obj is not None else super().has_change_permission(request)

    @admin.display(description="kind", ordering="profile__kind")
    def profile_kind(self, obj: ComplianceStatus) -> str:
        return obj.profile.get_kind_display()

    @admin.display(description="review reason")
    def short_review_reason(self, obj: ComplianceStatus) -> str:
        reason = obj.review_reason
        return reason if len(reason) <= 60 else reason[:57] + "..."

    @admin.display(description="audit trail")
    def audit_trail(self, obj: ComplianceStatus) -> str:
        events = AuditEvent.objects.filter(
            target_type=obj._meta.label_lower, target_id=str(obj.pk)
        ).order_by("-occurred_at", "-id")[:50]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.occurred_at, e.action, e.actor_label, e.reason) for e in events),
        )
        return format_html(
            "<table><tr><th>when</th><th>action</th><th>who</th><th>reason</th></tr>{}</table>",
            rows,
        )


# ---------------------------------------------------------------------------------------------
# Sanctions screening. Lists and entries are read-only (loaded by `sanctions_load`); hits are
# decided by the actions, which need a note. Support and finance do not see hits at all
# (fintech/core/staff.py): a hold's reason is for compliance only.


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SanctionsListVersion)
class SanctionsListVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "published",
        "entries_total",
        "entries_added",
        "entries_changed",
        "entries_removed",
        "loaded_by",
        "loaded_at",
        "rescreened_at",
    ]
    list_filter = ["source"]
    search_fields = ["filename", "checksum", "loaded_by"]


@admin.register(SanctionsEntry)
class SanctionsEntryAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "birth_dates", "countries", "is_active", "changed_in"]
    list_select_related = ["changed_in"]
    list_filter = ["source", "kind", "is_active"]
    search_fields = ["external_id", "names"]


def _hit_decision(
    name: str, *, title: str, service: Callable[..., ScreeningHit], done: str
) -> Callable[[Any, HttpRequest, QuerySet[ScreeningHit]], TemplateResponse | None]:
    def run(
        modeladmin: ScreeningHitAdmin, request: HttpRequest, queryset: QuerySet[ScreeningHit]
    ) -> TemplateResponse | None:
        def apply(actor: Actor, hit: ScreeningHit, note: str) -> object:
            # A hit in a case is decided by the case's decision (which releases or keeps
            # every hold in it, with four eyes where the risk needs them); only hits raised
            # before cases existed are decided here one by one.
            item = CaseItem.objects.filter(source="screening_hit", source_id=hit.pk).first()
            if item is not None:
                raise Conflict(f"it is in case {item.case_id}: decide it there")
            return service(actor=actor, hit=hit, note=note)

        return action_with_reason(
            modeladmin,
            request,
            queryset,
            action=name,
            title=title,
            reason_required=True,
            apply=apply,
            done=done,
            label=lambda hit: f"hit {hit.pk} ({hit.subject_name} ~ {hit.matched_name})",
        )

    run.__name__ = name
    return admin.action(
        description=f"{title} (only hits not in a case; note required)", permissions=["change"]
    )(run)


@admin.register(ScreeningHit)
class ScreeningHitAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "status",
        "subject_type",
        "subject_id",
        "profile",
        "subject_name",
        "matched_name",
        "score",
        "entry",
        "created_at",
        "decided_by",
        "case",
    ]
    list_select_related = ["profile", "entry"]
    list_filter = ["status", "subject_type", "entry__source"]
    search_fields = ["subject_name", "matched_name", "profile__legal_name", "entry__external_id"]
    readonly_fields = [f.name for f in ScreeningHit._meta.fields]
    actions = [
        _hit_decision(
            "clear",
            title="Clear as a false positive",
            service=screening.screening_hit_clear,
            done="cleared",
        ),
        _hit_decision(
            "confirm",
            title="Confirm the match",
            service=screening.screening_hit_confirm,
            done="confirmed",
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScreeningHit]:
        in_case = CaseItem.objects.filter(source="screening_hit", source_id=OuterRef("pk"))
        return super().get_queryset(request).annotate(case_id=Subquery(in_case.values("case_id")))

    @admin.display(description="case")
    def case(self, hit: ScreeningHit) -> str:
        case_id = getattr(hit, "case_id", None)
        if case_id is None:
            return "—"
        url = reverse("admin:compliance_case_change", args=[case_id])
        return format_html('<a href="{}">case {}</a>', url, case_id)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # raised only by screening

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Decisions go through the actions (audited, with a note); the page is read-only.
        return False if obj is not None else super().has_change_permission(request)


from fintech.compliance import admin_cases  # noqa: E402,F401  (the cases console registers itself)
