"""Compliance cases in the operator console (compliance only: support and finance do not see
cases at all, fintech/core/staff.py).

The case page is read-only apart from its inlines: notes and attachments are added there and
saved through the services (audited); items are listed with their outcome. Every step of
the lifecycle is an action asking for a note (also offered as buttons on the case page),
calling the case services. The SAR (JSON or CSV) and attachments are downloaded through views
of this admin that need `compliance.change_case`, each download audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header

from fintech.compliance.cases import services
from fintech.compliance.cases.attachments import attachment_check
from fintech.compliance.cases.sar import SAR_STATES, case_sar_export
from fintech.compliance.models import ACTIVE_CASE_STATES, Case, CaseAttachment, CaseItem, CaseNote
from fintech.core.errors import DomainError
from fintech.core.models import AuditEvent
from fintech.core.services import Actor
from fintech.customers.admin_helpers import action_with_reason, actor_for_request

OFFICER_PERMISSION = "compliance.change_case"


class AssigneeFilter(admin.SimpleListFilter):
    title = "assignee"
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("me", "Mine"), ("none", "Unassigned")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        if self.value() == "me":
            return queryset.filter(assignee_id=request.user.pk)
        if self.value() == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("overdue", "Active and past its due date"),
            ("7", "Opened over 7 days ago"),
            ("30", "Opened over 30 days ago"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(state__in=ACTIVE_CASE_STATES, due_at__lte=now)
        if self.value() in ("7", "30"):
            return queryset.filter(opened_at__lte=now - timedelta(days=int(self.value() or 0)))
        return queryset


class CaseItemInline(admin.TabularInline):
    model = CaseItem
    extra = 0
    readonly_fields = ("source", "source_id", "alert", "summary", "score", "added_at", "outcome")
    fields = readonly_fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # alerts attach themselves (case_attach)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="alert")
    def alert(self, item: CaseItem) -> str:
        if item.source == "screening_hit":
            url = reverse("admin:compliance_screeninghit_change", args=[item.source_id])
            return format_html('<a href="{}">hit {}</a>', url, item.source_id)
        return "—"


class _ServiceInline(admin.TabularInline):
    """Existing rows read-only (append-only tables); new ones saved by CaseAdmin.save_formset
    through the services."""

    extra = 1
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaseNoteInline(_ServiceInline):
    model = CaseNote
    fields = ["created_at", "author_label", "text"]
    readonly_fields = ["created_at", "author_label"]


class AttachmentForm(forms.ModelForm):
    upload = forms.FileField(
        required=True, help_text="PDF, PNG, JPEG, TXT or CSV; kept in the database"
    )

    class Meta:
        model = CaseAttachment
        fields: list[str] = []

    def clean_upload(self) -> Any:
        upload = self.cleaned_data["upload"]
        if upload.size > settings.CASE_ATTACHMENT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file must be at most {settings.CASE_ATTACHMENT_MAX_BYTES} bytes."
            )
        content = upload.read()
        try:
            attachment_check(
                filename=upload.name,
                content=content,
                max_bytes=settings.CASE_ATTACHMENT_MAX_BYTES,
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc
        self.upload_content = content
        return upload


class CaseAttachmentInline(_ServiceInline):
    model = CaseAttachment
    form = AttachmentForm
    fields = ["download", "content_type", "size", "sha256", "uploaded_by_label", "uploaded_at",
              "upload"]  # fmt: skip
    readonly_fields = ["download", "content_type", "size", "sha256", "uploaded_by_label",
                       "uploaded_at"]  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet[CaseAttachment]:
        return super().get_queryset(request).defer("content")

    @admin.display(description="file")
    def download(self, attachment: CaseAttachment) -> str:
        if attachment.pk is None:
            return "—"
        url = reverse("admin:compliance_case_attachment", args=[attachment.case_id, attachment.pk])
        return format_html('<a href="{}">{}</a>', url, attachment.filename)


def _label(case: Case) -> str:
    return f"Case {case.pk} ({case.profile})"


def _step_action(
    name: str, *, title: str, done: str, call: Callable[[Actor, Case, str], object],
    reason_required: bool = True,
) -> Any:  # fmt: skip
    def run(
        modeladmin: CaseAdmin, request: HttpRequest, queryset: QuerySet[Case]
    ) -> TemplateResponse | None:
        return action_with_reason(
            modeladmin, request, queryset.select_related("profile"), action=name, title=title,
            reason_required=reason_required, apply=call, done=done, label=_label,
        )  # fmt: skip

    run.__name__ = name
    suffix = " (note required)" if reason_required else ""
    return admin.action(description=f"{title}{suffix}", permissions=["change"])(run)


CASE_ACTIONS = [
    _step_action("start_investigation", title="Start the investigation", done="investigating",
                 call=lambda a, c, n: services.case_start_investigation(
                     actor=a, case_id=c.pk, note=n)),
    _step_action("escalate", title="Escalate", done="escalated",
                 call=lambda a, c, n: services.case_escalate(actor=a, case_id=c.pk, note=n)),
    _step_action("return_to_investigation", title="Back to investigation", done="investigating",
                 call=lambda a, c, n: services.case_return_to_investigation(
                     actor=a, case_id=c.pk, note=n)),
    _step_action("close_cleared", title="Close as cleared (release the holds)",
                 done="closed as cleared, or proposed for a second officer's approval",
                 call=lambda a, c, n: services.case_close_cleared(
                     actor=a, case_id=c.pk, note=n)),
    _step_action("close_reported", title="Close as reported (keep the holds)",
                 done="closed as reported, or proposed for a second officer's approval",
                 call=lambda a, c, n: services.case_close_reported(
                     actor=a, case_id=c.pk, note=n)),
    _step_action("close_reported_cancel",
                 title="Close as reported and cancel the held transfers (money back to wallet)",
                 done="closed as reported, or proposed for a second officer's approval",
                 call=lambda a, c, n: services.case_close_reported(
                     actor=a, case_id=c.pk, note=n, cancel_transfers=True)),
    _step_action("approve_decision", title="Approve the proposed decision (not your own)",
                 done="decision approved and carried out", reason_required=False,
                 call=lambda a, c, n: services.case_decision_approve(
                     actor=a, case_id=c.pk, note=n)),
    _step_action("reject_decision", title="Reject the proposed decision", done="proposal rejected",
                 call=lambda a, c, n: services.case_decision_reject(
                     actor=a, case_id=c.pk, note=n)),
]  # fmt: skip


def case_buttons(case: Case) -> list[tuple[str, str]]:
    """The steps the case's state allows, as (action name, button label)."""
    if case.proposed_decision:
        return [
            ("approve_decision", "Approve the proposed decision"),
            ("reject_decision", "Reject the proposal"),
        ]
    closing = [
        ("close_cleared", "Close as cleared"),
        ("close_reported", "Close as reported"),
        ("close_reported_cancel", "Close as reported, cancel transfers"),
    ]
    by_state: dict[str, list[tuple[str, str]]] = {
        Case.State.OPEN: [("start_investigation", "Start the investigation")],
        Case.State.INVESTIGATING: [("escalate", "Escalate"), *closing],
        Case.State.ESCALATED: [("return_to_investigation", "Back to investigation"), *closing],
    }
    return by_state.get(case.state, [])


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["id", "profile", "state", "risk_level", "risk_score", "item_count",
                    "assignee", "opened_at", "due_at", "proposed_decision", "decision"]  # fmt: skip
    list_select_related = ["profile", "assignee"]
    list_filter = ["state", "risk_level", AssigneeFilter, AgeFilter, "proposed_decision"]
    search_fields = ["=id", "profile__legal_name", "profile__registration_number"]
    date_hierarchy = "opened_at"
    ordering = ["-opened_at", "-id"]
    readonly_fields = ("profile", "state", "risk_level", "risk_score", "assignee", "opened_at",
                       "due_at", "proposal", "decision", "decision_note", "decided_by",
                       "approved_by", "closed_at", "transfers_cancelled", "reports",
                       "timeline")  # fmt: skip
    fields = readonly_fields
    inlines = [CaseItemInline, CaseNoteInline, CaseAttachmentInline]
    actions = [*CASE_ACTIONS, "assign_to_me", "download_sar"]
    change_form_template = "admin/compliance/case/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        return super().get_queryset(request).annotate(n_items=Count("items"))

    @admin.display(description="items", ordering="n_items")
    def item_count(self, case: Case) -> int:
        return int(getattr(case, "n_items", 0))

    @admin.display(description="proposed decision (awaiting a second officer)")
    def proposal(self, case: Case) -> str:
        if not case.proposed_decision:
            return "—"
        cancel = " and cancel the held transfers" if case.proposed_cancel_transfers else ""
        return (
            f"{case.get_proposed_decision_display()}{cancel}, proposed by {case.proposed_by} "
            f"at {case.proposed_at:%Y-%m-%d %H:%M}: {case.proposed_note}"
        )

    @admin.display(description="suspicious-activity report")
    def reports(self, case: Case) -> str:
        if case.state not in SAR_STATES:
            return "available once the case is escalated or closed as reported"
        return format_html_join(
            " · ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:compliance_case_sar", args=[case.pk, fmt]), f"SAR ({fmt.upper()})")
                for fmt in ("json", "csv")
            ),
        )

    @admin.display(description="timeline")
    def timeline(self, case: Case) -> str:
        events = AuditEvent.objects.filter(
            target_type=case._meta.label_lower, target_id=str(case.pk)
        ).order_by("occurred_at", "id")[:200]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.occurred_at, e.action, e.actor_label, e.reason) for e in events),
        )
        return format_html(
            "<table><tr><th>when</th><th>action</th><th>who</th><th>note</th></tr>{}</table>",
            rows,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # opened by alerts (case_attach)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Case, form: Any, change: bool) -> None:
        pass  # the case's own fields are read-only here; it moves only through the services

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> list[dict[str, Any]]:
        # Inline rows are saved by the services (save_formset), not by formset.save(), so
        # Django's per-row summary has nothing to read; the audit trail has the detail.
        return []

    def save_formset(
        self, request: HttpRequest, form: Any, formset: BaseInlineFormSet, change: bool
    ) -> None:
        actor = actor_for_request(request)
        case = form.instance
        for inline_form in formset.extra_forms:
            if not inline_form.has_changed() or not inline_form.is_valid():
                continue
            try:
                if formset.model is CaseNote:
                    services.case_note_add(
                        actor=actor, case_id=case.pk, text=inline_form.cleaned_data["text"]
                    )
                elif formset.model is CaseAttachment:
                    services.case_attachment_add(
                        actor=actor,
                        case_id=case.pk,
                        filename=inline_form.cleaned_data["upload"].name,
                        content=inline_form.upload_content,
                    )
            except DomainError as exc:
                messages.error(request, f"Not saved: {exc.message}")

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        actor = actor_for_request(request)
        for case in queryset:
            try:
                officer = User.objects.get(pk=request.user.pk or 0)
                services.case_assign(actor=actor, case_id=case.pk, assignee=officer)
            except DomainError as exc:
                self.message_user(request, f"{_label(case)}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{_label(case)}: assigned to you.", messages.SUCCESS)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        case = Case.objects.filter(pk=object_id if str(object_id).isdigit() else None).first()
        buttons: list[dict[str, str]] = []
        if case is not None and request.user.has_perm(OFFICER_PERMISSION):
            buttons = [{"action": name, "label": label} for name, label in case_buttons(case)]
        extra = {
            "case_buttons": buttons,
            "changelist_url": reverse("admin:compliance_case_changelist"),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra)

    @admin.action(description="Download the SAR (JSON; one case)", permissions=["change"])
    def download_sar(self, request: HttpRequest, queryset: QuerySet[Case]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one case for its SAR.", messages.ERROR)
            return None
        return self.sar_view(request, case_id=queryset.get().pk, fmt="json")

    # -- downloads ------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        return [
            path("<int:case_id>/sar/<str:fmt>/", self.admin_site.admin_view(self.sar_view),
                 name="compliance_case_sar"),
            path("<int:case_id>/attachments/<int:attachment_id>/",
                 self.admin_site.admin_view(self.attachment_view),
                 name="compliance_case_attachment"),
            *super().get_urls(),
        ]  # fmt: skip

    def sar_view(self, request: HttpRequest, case_id: int, fmt: str) -> HttpResponse:
        if not request.user.has_perm(OFFICER_PERMISSION):
            raise PermissionDenied
        try:
            body, content_type, name = case_sar_export(
                actor=actor_for_request(request), case_id=case_id, fmt=fmt
            )
        except DomainError as exc:
            return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
        return response

    def attachment_view(
        self, request: HttpRequest, case_id: int, attachment_id: int
    ) -> HttpResponse:
        if not request.user.has_perm(OFFICER_PERMISSION):
            raise PermissionDenied
        if not CaseAttachment.objects.filter(pk=attachment_id, case_id=case_id).exists():
            return HttpResponse("not found", status=404, content_type="text/plain")
        attachment = services.case_attachment_download(
            actor=actor_for_request(request), attachment_id=attachment_id
        )
        # Always a download, never rendered inline; the stored type, never the upload's claim.
        response = HttpResponse(bytes(attachment.content), content_type=attachment.content_type)
        response["Content-Disposition"] = (
            content_disposition_header(True, attachment.filename) or "attachment"
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response
