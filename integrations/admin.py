"""Operator screens for integrations: webhook endpoints and their delivery log, the inbound
log, partner payouts and KYC checks. Filters answer "what is failing?"; actions call services
and say what they did."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from fintech.core.metrics import COUNTERS
from fintech.core.services import Actor
from fintech.customers.admin_helpers import action_with_reason
from integrations.connectors.kyc.sandbox.handlers import kyc_check_retry
from integrations.connectors.payout.sandbox.handlers import payout_retry
from integrations.connectors.payout.sandbox.recalls import recall_retry
from integrations.inbound.services import inbound_reprocess
from integrations.models import (
    InboundWebhook,
    IntegrationHealth,
    KycCheck,
    PayoutInstruction,
    PayoutRecall,
    SandboxKycCheck,
    SandboxPayout,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from integrations.observability.metrics import counters_by_name
from integrations.observability.selectors import integration_gauges, sync_connection_health
from integrations.webhooks import services as webhooks


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user, request_id=request.headers.get("X-Request-Id", ""))


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# ---------------------------------------------------------------------------------------------
# Endpoints


class EndpointHealthFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("disabled", "disabled"),
            ("failing", "failing (enabled, last attempts failed)"),
            ("failing_1d", "failing for over a day"),
            ("healthy", "healthy"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "disabled":
            return queryset.filter(is_enabled=False)
        if value == "failing":
            return queryset.filter(is_enabled=True, failure_streak__gt=0)
        if value == "failing_1d":
            return queryset.filter(
                is_enabled=True, failing_since__lt=timezone.now() - timedelta(days=1)
            )
        if value == "healthy":
            return queryset.filter(is_enabled=True, failure_streak=0)
        return queryset


class EndpointForm(forms.ModelForm):
    """Operators edit where and what; the secret is never shown or typed here."""

    url = forms.URLField(max_length=2000, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = [
        "id",
        "profile",
        "url",
        "is_enabled",
        "failure_streak",
        "failing_since",
        "last_success_at",
        "deliveries_link",
    ]
    list_filter = [EndpointHealthFilter, "is_enabled"]
    search_fields = ["url", "profile__legal_name", "=id"]
    list_select_related = ["profile"]
    readonly_fields = [
        "profile",
        "is_enabled",
        "disabled_reason",
        "disabled_at",
        "deleted_at",
        "failure_streak",
        "failing_since",
        "last_success_at",
        "previous_secret_expires_at",
        "created_at",
        "deliveries_link",
    ]
    actions = ["send_test", "enable", "disable", "replay_failed_since"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers subscribe over the API; the secret is shown to them only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deleting is the API's soft delete; the delivery log stays

    @admin.display(description="delivery log")
    def deliveries_link(self, obj: WebhookEndpoint) -> str:
        url = reverse("admin:integrations_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">deliveries</a>', url, obj.pk)

    @admin.action(description="Send a test event")
    def send_test(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        sent = 0
        for endpoint in queryset.filter(is_enabled=True):
            webhooks.endpoint_send_test(actor=_actor(request), endpoint_id=endpoint.pk)
            sent += 1
        self.message_user(request, f"Test event queued for {sent} enabled endpoint(s).")

    @admin.action(description="Enable (and reset the failure streak)")
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        count = 0
        for endpoint in queryset.filter(deleted_at__isnull=True):
            webhooks.endpoint_enable(
                actor=_actor(request), endpoint_id=endpoint.pk, reason="enabled by operator"
            )
            count += 1
        self.message_user(request, f"{count} endpoint(s) enabled.")

    @admin.action(description="Disable")
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        count = 0
        for endpoint in queryset.filter(is_enabled=True):
            webhooks.endpoint_disable(
                actor=_actor(request), endpoint_id=endpoint.pk, reason="disabled by an operator"
            )
            count += 1
        self.message_user(request, f"{count} endpoint(s) disabled.", level=messages.WARNING)

    @admin.action(description="Replay failed deliveries since a time…")
    def replay_failed_since(
        self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]
    ) -> HttpResponse | None:
        return replay_since_view(self, request, list(queryset.values_list("pk", flat=True)))


class ReplaySinceForm(forms.Form):
    since = forms.DateTimeField(
        help_text="UTC, e.g. 2026-11-30 08:00; failed and exhausted deliveries created since then"
    )
    reason = forms.CharField(max_length=500, required=False)


def replay_since_view(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, endpoint_ids: list[int] | None
) -> HttpResponse | None:
    """The intermediate page of "replay failed since": ask for the time, then replay."""
    form = ReplaySinceForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        count = webhooks.deliveries_replay_failed_since(
            actor=_actor(request),
            since=form.cleaned_data["since"],
            endpoint_ids=endpoint_ids,
            reason=form.cleaned_data["reason"],
        )
        model_admin.message_user(request, f"{count} failed delivery(ies) queued again.")
        return None
    return TemplateResponse(
        request,
        "admin/integrations/replay_since.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "form": form,
            "action": request.POST.get("action", ""),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "title": "Replay failed deliveries since",
        },
    )


# ---------------------------------------------------------------------------------------------
# Deliveries and attempts


class WebhookAttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = ("number", "started_at", "status_code", "latency_ms", "error", "response_excerpt")
    readonly_fields = fields
    ordering = ["number"]


class DeliveryFailureFilter(admin.SimpleListFilter):
    title = "failures"
    parameter_name = "failures"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("exhausted", "exhausted"),
            ("failed", "failed"),
            ("retrying", "pending after a failed attempt"),
            ("stuck", "pending, due over 10 minutes ago"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value in ("exhausted", "failed"):
            return queryset.filter(status=value)
        if value == "retrying":
            return queryset.filter(status=WebhookDelivery.Status.PENDING, attempts__gt=0)
        if value == "stuck":
            return queryset.filter(
                status=WebhookDelivery.Status.PENDING,
                next_attempt_at__lt=timezone.now() - timedelta(minutes=10),
            )
        return queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "webhook_id",
    ]
    list_filter = [DeliveryFailureFilter, "status", "event_type"]
    search_fields = ["=webhook_id", "=event_id", "endpoint__url"]
    list_select_related = ["endpoint"]
    raw_id_fields = ["endpoint"]
    date_hierarchy = "created_at"
    inlines = [WebhookAttemptInline]
    actions = ["redeliver", "replay_failed_since"]
    show_full_result_count = False
    readonly_fields = [
        "endpoint",
        "event_id",
        "webhook_id",
        "event_type",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "locked_until",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "succeeded_at",
        "created_at",
    ]

    @admin.action(description="Redeliver now (same webhook-id)")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = webhooks.delivery_redeliver(actor=_actor(request), delivery_ids=ids)
        skipped = len(ids) - count
        self.message_user(
            request,
            f"{count} delivery(ies) queued."
            + (f" {skipped} skipped: their endpoint is disabled." if skipped else ""),
        )

    @admin.action(description="Replay every failed delivery since a time…")
    def replay_failed_since(
        self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]
    ) -> HttpResponse | None:
        return replay_since_view(self, request, None)


# ---------------------------------------------------------------------------------------------
# Inbound log


@admin.register(InboundWebhook)
class InboundWebhookAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "received_at",
        "provider",
        "event_type",
        "provider_event_id",
        "signature_verdict",
        "status",
        "attempts",
        "short_error",
    ]
    list_filter = ["status", "signature_verdict", "provider", "event_type"]
    search_fields = ["=provider_event_id", "=id", "error"]
    date_hierarchy = "received_at"
    actions = ["reprocess"]
    show_full_result_count = False
    readonly_fields = [
        "id",
        "provider",
        "provider_event_id",
        "event_type",
        "occurred_at",
        "signature_verdict",
        "status",
        "error",
        "attempts",
        "received_at",
        "processed_at",
        "headers",
        "body",
    ]

    @admin.display(description="error")
    def short_error(self, obj: InboundWebhook) -> str:
        return obj.error[:80]

    @admin.action(description="Reprocess (verified messages only; idempotent)")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[InboundWebhook]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = inbound_reprocess(actor=_actor(request), inbound_ids=ids)
        skipped = len(ids) - count
        self.message_user(
            request,
            f"{count} message(s) queued for processing."
            + (f" {skipped} skipped (unverified, or processing now)." if skipped else ""),
        )


# ---------------------------------------------------------------------------------------------
# Connectors' state


class PartnerRetryMixin:
    """The "retry at the partner" action of a connector's requests refused permanently."""

    retry_title = "Retry at the partner"

    def retry_service(self, actor: Actor, obj: Any, reason: str) -> object:
        raise NotImplementedError

    def has_retry_permission(self, request: HttpRequest) -> bool:
        opts = self.model._meta  # type: ignore[attr-defined]
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(
        description="Retry at the partner (refused requests; reason required)…",
        permissions=["retry"],
    )
    def retry_at_partner(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        return action_with_reason(
            self,  # type: ignore[arg-type]
            request,
            queryset,
            action="retry_at_partner",
            title=self.retry_title,
            reason_required=True,
            apply=self.retry_service,
            done="queued for another try",
        )


@admin.register(PayoutInstruction)
class PayoutInstructionAdmin(PartnerRetryMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "partner",
        "transfer_reference",
        "external_id",
        "status",
        "attempts",
        "last_status_at",
        "last_error",
    ]
    list_filter = ["status", "partner"]
    search_fields = ["=transfer_reference", "=external_id"]
    actions = ["retry_at_partner"]

    def retry_service(self, actor: Actor, obj: PayoutInstruction, reason: str) -> object:
        return payout_retry(actor=actor, instruction_id=obj.pk, reason=reason)


@admin.register(PayoutRecall)
class PayoutRecallAdmin(PartnerRetryMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Our recall/trace requests for disputed payouts, and the partner's answers."""

    list_display = ["created_at", "partner", "dispute_id", "transfer_reference", "external_id",
                    "status", "attempts", "last_error"]  # fmt: skip
    list_filter = ["status", "partner"]
    search_fields = ["=transfer_reference", "=external_id", "=dispute_id"]
    actions = ["retry_at_partner"]

    def retry_service(self, actor: Actor, obj: PayoutRecall, reason: str) -> object:
        return recall_retry(actor=actor, recall_id=obj.pk, reason=reason)


@admin.register(KycCheck)
class KycCheckAdmin(PartnerRetryMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "provider", "profile_id", "external_id", "status", "last_error"]
    list_filter = ["status", "provider"]
    search_fields = ["=external_id", "=profile_id"]
    actions = ["retry_at_partner"]

    def retry_service(self, actor: Actor, obj: KycCheck, reason: str) -> object:
        return kyc_check_retry(actor=actor, check_id=obj.pk, reason=reason)


@admin.register(SandboxPayout)
class SandboxPayoutAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "id",
        "client_reference",
        "amount",
        "currency",
        "status",
        "next_step_at",
    ]
    list_filter = ["status"]
    search_fields = ["=id", "=client_reference"]


@admin.register(SandboxKycCheck)
class SandboxKycCheckAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "id", "client_reference", "status", "result", "next_step_at"]
    list_filter = ["status", "result"]


@admin.register(IntegrationHealth)
class IntegrationHealthAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """One page: the backlogs and failures (database gauges) and the counters every process
    adds to (Redis), the same figures `/metrics` gives Prometheus."""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        counters = [
            (name, COUNTERS.get(name, ""), labels, value)
            for name, samples in counters_by_name().items()
            for labels, value in (samples or [({}, 0)])
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Integration health",
            # Per-connection gauges are the sync table below, one row per connection.
            "gauges": [gauge for gauge in integration_gauges() if not gauge.labels],
            "sync_connections": sync_connection_health(),
            "counters": counters,
        }
        return TemplateResponse(request, "admin/integrations/health.html", context)


# The sync engine's screens (connections, the failed-sync queue, mismatches) live beside it;
# so do the bank statements' (reconciliation).
# And the exception inbox's, which reads all of them.
from integrations.inbox import admin as inbox_admin  # noqa: E402, F401
from integrations.reconciliation import admin as reconciliation_admin  # noqa: E402, F401
from integrations.sync import admin as sync_admin  # noqa: E402, F401
