"""Operator console for ERP payments: batches and requests (state, reasons, approvals, the
transfer), the exception list with its actions, vendors, approval policies, and the metric
"ERP approval failures" by profile and reason."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from fintech.core.errors import DomainError
from fintech.core.money import SUPPORTED_CURRENCIES, format_minor
from fintech.core.services import Actor
from fintech.customers.admin_helpers import action_with_reason
from fintech.customers.models import Profile
from fintech.payments.export import COLUMNS
from fintech.payments.models import (
    Approval,
    ApprovalFailure,
    ApprovalPolicy,
    PaymentBatch,
    PaymentException,
    PaymentRequest,
    PaymentRequestTransition,
    Vendor,
)
from fintech.payments.selectors import payment_batch_states
from fintech.payments.services.files import payment_file_import
from fintech.payments.services.lifecycle import payment_request_payload
from fintech.payments.services.operators import (
    payment_request_cancel,
    payment_request_operator_reject,
    payment_request_release,
)

# Uploading a file creates a batch: the model's own "add" permission, given to operators
# who take files from customers (the admin's add form itself stays closed).
UPLOAD_PERMISSION = "payments.add_paymentbatch"


def _request_id(request: HttpRequest) -> str:
    return str(getattr(request, "request_id", "") or uuid.uuid4().hex)[:64]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TransitionInline(ReadOnlyInline):
    model = PaymentRequestTransition
    fields = ["occurred_at", "transition", "source_state", "target_state", "actor_label", "reason"]
    readonly_fields = ["occurred_at", "transition", "source_state", "target_state", "actor_label",
                       "reason"]  # fmt: skip


class ApprovalInline(ReadOnlyInline):
    model = Approval
    fields = ["occurred_at", "decision", "approver_label", "reason"]
    readonly_fields = ["occurred_at", "decision", "approver_label", "reason"]


def _reasons(request: PaymentRequest) -> str:
    return "; ".join(f"{r.get('field')}: {r.get('code')}" for r in request.reasons or [])


@admin.register(PaymentRequest)
class PaymentRequestAdmin(admin.ModelAdmin):
    list_display = [
        "erp_payment_id", "profile", "state", "amount_display", "vendor", "due_date",
        "reasons_display", "transfer_link", "created_at",
    ]  # fmt: skip
    list_select_related = ["profile", "vendor", "transfer"]
    list_filter = ["state", "suspicious_activity", "amount_side", "currency", "profile__is_sandbox"]
    search_fields = [
        "erp_payment_id", "bill_reference", "remittance_reference", "profile__legal_name",
        "vendor__erp_vendor_id", "transfer__reference", "batch__erp_batch_id",
    ]  # fmt: skip
    date_hierarchy = "created_at"
    inlines = [TransitionInline, ApprovalInline]
    actions = ["release", "reject", "cancel", "export_csv"]
    readonly_fields = [f.name for f in PaymentRequest._meta.fields if f.name not in ("id",)] + [
        "transfer_link",
        "reasons_display",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="amount")
    def amount_display(self, obj: PaymentRequest) -> str:
        return f"{format_minor(obj.amount_minor, obj.currency)} {obj.currency} ({obj.amount_side})"

    @admin.display(description="reasons")
    def reasons_display(self, obj: PaymentRequest) -> str:
        return _reasons(obj)

    @admin.display(description="transfer")
    def transfer_link(self, obj: PaymentRequest) -> str:
        if obj.transfer_id is None:
            return "-"
        url = reverse("admin:transfers_transfer_change", args=[obj.transfer_id])
        return format_html('<a href="{}">{}</a>', url, obj.transfer)

    @admin.action(description="Export selected as CSV (for the customer's ERP)")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> Any:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for obj in queryset.select_related("quote", "transfer", "vendor", "batch"):
            row = payment_request_payload(obj)
            row["finished_at"] = obj.finished_at.isoformat() if obj.finished_at else None
            writer.writerow(row)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="payment-requests.csv"'
        return response

    @admin.action(description="Release held requests after review (asks for a reason)",
                  permissions=["change"])  # fmt: skip
    def release(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> Any:
        return action_with_reason(
            self, request, queryset, action="release", title="Release held payment requests",
            reason_required=True,
            apply=lambda actor, r, reason: payment_request_release(
                actor=actor, request_id=r.pk, reason=reason
            ),
            done="released",
        )  # fmt: skip

    @admin.action(description="Reject (asks for a reason)", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> Any:
        return action_with_reason(
            self, request, queryset, action="reject", title="Reject payment requests",
            reason_required=True,
            apply=lambda actor, r, reason: payment_request_operator_reject(
                actor=actor, request_id=r.pk, reason=reason
            ),
            done="rejected",
        )  # fmt: skip

    @admin.action(description="Cancel before the transfer exists (asks for a reason)",
                  permissions=["change"])  # fmt: skip
    def cancel(self, request: HttpRequest, queryset: QuerySet[PaymentRequest]) -> Any:
        return action_with_reason(
            self, request, queryset, action="cancel", title="Cancel payment requests",
            reason_required=True,
            apply=lambda actor, r, reason: payment_request_cancel(
                actor=actor, request_id=r.pk, reason=reason
            ),
            done="cancelled",
        )  # fmt: skip


EXCEPTION_STATES = [
    PaymentRequest.State.HELD,
    PaymentRequest.State.REJECTED,
    PaymentRequest.State.EXPIRED,
    PaymentRequest.State.FAILED,
    PaymentRequest.State.AWAITING_APPROVAL,
]


@admin.register(PaymentException)
class PaymentExceptionAdmin(PaymentRequestAdmin):
    """The exception list: validation failures, duplicates held, screening holds, expired
    approvals, failed or returned payouts, and what still waits for an approver."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[PaymentRequest]:
        return super().get_queryset(request).filter(state__in=EXCEPTION_STATES)


class RequestInline(ReadOnlyInline):
    model = PaymentRequest
    fields = ["erp_payment_id", "state", "amount_minor", "currency", "transfer"]
    readonly_fields = ["erp_payment_id", "state", "amount_minor", "currency", "transfer"]
    show_change_link = True


class PaymentFileUploadForm(forms.Form):
    profile = forms.ModelChoiceField(
        queryset=Profile.objects.filter(kind=Profile.Kind.BUSINESS).order_by("legal_name"),
        help_text="the business whose ERP sent the file: its vendors, wallet and approval rules",
    )
    file = forms.FileField(help_text="an ISO 20022 pain.001.001.03 or .001.09 file")
    source_currency = forms.ChoiceField(
        required=False,
        choices=[("", "the file's DbtrAcct/Ccy"), *((c, c) for c in SUPPORTED_CURRENCIES)],
        help_text="the wallet currency that pays",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.PAYMENT_FILE_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(f"The file must be at most {limit} bytes.")
        return upload


@admin.register(PaymentBatch)
class PaymentBatchAdmin(admin.ModelAdmin):
    list_display = ["erp_batch_id", "profile", "source", "request_count", "progress", "created_at"]
    list_filter = ["source", "intake__state"]
    search_fields = ["erp_batch_id", "profile__legal_name", "checksum"]
    readonly_fields = [
        *(f.name for f in PaymentBatch._meta.fields), "progress", "states", "all_requests",
    ]  # fmt: skip
    change_list_template = "admin/payments/paymentbatch/change_list.html"
    # A file's thousands of requests are not drawn inline: the link lists them, paginated.
    INLINE_MAX_REQUESTS = 200

    def get_queryset(self, request: HttpRequest) -> QuerySet[PaymentBatch]:
        # The stored file itself (megabytes) is never read for these pages.
        return (
            super()
            .get_queryset(request)
            .select_related("profile", "intake")
            .defer("intake__content")
        )

    def get_inlines(self, request: HttpRequest, obj: PaymentBatch | None) -> list[Any]:
        if obj is not None and obj.request_count > self.INLINE_MAX_REQUESTS:
            return []
        return [RequestInline]

    @admin.display(description="file intake")
    def progress(self, obj: PaymentBatch) -> str:
        intake = getattr(obj, "intake", None)
        if intake is None:
            return "—"
        return (
            f"{intake.get_state_display()}: {intake.payments_done:,} of "
            f"{intake.payments_total:,} payments taken ({intake.requests_created:,} requests, "
            f"{intake.payments_rejected:,} refused)"
        )

    @admin.display(description="requests by state")
    def states(self, obj: PaymentBatch) -> str:
        counts = payment_batch_states(batch=obj)
        return ", ".join(f"{state}: {n:,}" for state, n in sorted(counts.items())) or "—"

    @admin.display(description="requests")
    def all_requests(self, obj: PaymentBatch) -> str:
        url = reverse("admin:payments_paymentrequest_changelist")
        return format_html('<a href="{}?batch__id__exact={}">all requests of this batch</a>',
                           url, obj.pk)  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # batches come from files and the API, never typed in

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "upload/",
                self.admin_site.admin_view(self.upload_view),
                name="payments_paymentbatch_upload",
            ),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {"can_upload": request.user.has_perm(UPLOAD_PERMISSION), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """A pain.001 file a customer's finance team handed to an operator: the same import as
        the API's (same checks, same batch if sent again), by the operator as actor."""
        if not request.user.has_perm(UPLOAD_PERMISSION):
            raise PermissionDenied
        form = PaymentFileUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = payment_file_import(
                    actor=Actor.for_user(request.user, request_id=_request_id(request)),
                    profile=form.cleaned_data["profile"],
                    data=form.cleaned_data["file"].read(),
                    source_currency=form.cleaned_data["source_currency"],
                )
            except DomainError as exc:  # refused whole: nothing was created
                form.add_error("file", f"{exc.message} (nothing was created)")
            else:
                batch = result.batch
                rejected = len(batch.rejected_items or [])
                if not result.created:
                    message = (
                        f"This file was already taken as batch {batch.erp_batch_id}: "
                        "nothing new was created."
                    )
                elif result.in_background:
                    message = (
                        f"Batch {batch.erp_batch_id}: {batch.request_count:,} payments "
                        "validated and stored; they are being taken in the background "
                        "(progress below)."
                    )
                else:
                    message = (
                        f"Batch {batch.erp_batch_id}: {batch.request_count} payment(s) taken, "
                        f"{rejected} refused."
                    )
                messages.success(request, message)
                return HttpResponseRedirect(
                    reverse("admin:payments_paymentbatch_change", args=[batch.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Upload a pain.001 payment file",
            "form": form,
        }
        return TemplateResponse(request, "admin/payments/paymentbatch/upload.html", context)


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = [
        "erp_vendor_id", "name", "profile", "account", "is_active", "needs_approval",
        "bank_details_changed_at",
    ]  # fmt: skip
    list_select_related = ["profile", "beneficiary"]
    list_filter = ["is_active", "needs_approval"]
    search_fields = ["erp_vendor_id", "name", "profile__legal_name"]
    readonly_fields = [f.name for f in Vendor._meta.fields]

    @admin.display(description="account")
    def account(self, obj: Vendor) -> str:
        return obj.beneficiary.masked_details

    def get_queryset(self, request: HttpRequest) -> QuerySet[Vendor]:
        return super().get_queryset(request).defer("beneficiary__bank_details")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(admin.ModelAdmin):
    list_display = ["profile", "approve_new_or_changed_vendors", "approval_timeout_hours"]
    list_select_related = ["profile"]
    raw_id_fields = ["profile"]


@admin.register(ApprovalFailure)
class ApprovalFailureAdmin(admin.ModelAdmin):
    """The metric "ERP approval failures", by profile and reason (above the list)."""

    list_display = ["occurred_at", "profile", "reason", "request"]
    list_select_related = ["profile", "request"]
    list_filter = ["reason"]
    search_fields = ["profile__legal_name"]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        response = super().changelist_view(request, extra_context)
        if isinstance(response, TemplateResponse) and response.context_data is not None:
            queryset = response.context_data["cl"].queryset
            response.context_data["by_profile_and_reason"] = list(
                queryset.values("profile__legal_name", "reason")
                .annotate(count=Count("id"))
                .order_by("-count")
            )
        return response
