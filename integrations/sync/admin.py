"""The sync engine's operator console: accounting connections (with their account mapping,
reconnect, disconnect, organisation choice), the failed-sync queue, mismatches, and the sync
status of one object. Every action calls a service (integrations/sync/services.py,
mismatches.py) and says what it did; tokens are never shown.

Roles (fintech/core/staff.py): finance operates syncs (jobs, mismatches, mappings,
connections); engineering sees the connections only (no job, mismatch or mapping: they carry
customers' data).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from fintech.core.errors import DomainError
from fintech.core.services import Actor
from fintech.customers.admin_helpers import action_with_reason, actor_for_request
from fintech.customers.models import Profile
from integrations.errors import IntegrationError, PermanentError
from integrations.ssrf import UnsafeUrl
from integrations.sync import selectors, services
from integrations.sync.adapters import Role, adapter_for, providers
from integrations.sync.mismatches import mismatch_resolve
from integrations.sync.models import (
    AccountingConnection,
    AccountMapping,
    Connection,
    CrmConnection,
    ExternalAccount,
    SyncJob,
    SyncMismatch,
)

State = SyncJob.State
ERROR_CHARS = 120
TEMPLATES = "admin/integrations/sync"
# Who is looking, for columns that depend on it (a context variable: one admin instance
# serves every thread).
_viewer: ContextVar[HttpRequest | None] = ContextVar("sync_admin_viewer", default=None)


def _domain(call: Callable[[], object]) -> object:
    """Run a sync service; its refusals become DomainError (what the admin helpers report)."""
    try:
        return call()
    except IntegrationError as exc:
        raise DomainError(exc.message) from exc


def _problem_text(exc: Exception) -> str:
    if isinstance(exc, IntegrationError):
        return exc.message
    return str(exc) or type(exc).__name__


def object_admin_url(object_type: str, object_id: str) -> str | None:
    """The admin page of a local object a job syncs (None for types without one)."""
    try:
        if object_type == "transfer":
            if object_id.isdigit():
                return reverse("admin:transfers_transfer_change", args=[object_id])
            changelist = reverse("admin:transfers_transfer_changelist")
            return f"{changelist}?{urlencode({'reference': object_id})}"
        if object_type == "profile" and object_id.isdigit():
            return reverse("admin:customers_profile_change", args=[object_id])
        if object_type == "funding" and object_id.isdigit():
            return reverse("admin:ledger_journalentry_change", args=[object_id])
        if object_type == "journal_day":
            # The drill-down of a daily journal: the ledger's entries of that (UTC) day.
            day = object_id.partition(":")[0]
            year, month, dom = day.split("-")
            changelist = reverse("admin:ledger_journalentry_changelist")
            query = {"effective_at__year": year, "effective_at__month": str(int(month)),
                     "effective_at__day": str(int(dom))}  # fmt: skip
            return f"{changelist}?{urlencode(query)}"
    except (NoReverseMatch, ValueError):
        return None
    return None


def object_status_url(object_type: str, object_id: str) -> str:
    query = urlencode({"object_type": object_type, "object_id": object_id})
    return f"{reverse('admin:integrations_syncjob_object_status')}?{query}"


# ---------------------------------------------------------------------------------------------
# Connections


class ConnectForm(forms.Form):
    provider = forms.ChoiceField(choices=())
    profile_id = forms.IntegerField(
        required=False,
        min_value=1,
        label="Profile id",
        help_text="empty: the platform's own books; else the business profile whose books",
    )

    def __init__(self, *args: Any, kind: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = [p for p in providers() if not kind or adapter_for(p).kind == kind]
        self.fields["provider"].choices = [(p, p) for p in names]  # type: ignore[attr-defined]

    def clean_profile_id(self) -> int | None:
        profile_id: int | None = self.cleaned_data.get("profile_id")
        if profile_id is not None and not Profile.objects.filter(pk=profile_id).exists():
            raise forms.ValidationError(f"no profile {profile_id}")
        return profile_id


class ReasonOnlyForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        max_length=1000,
        help_text="Recorded in the audit trail with your name.",
    )


class TenantForm(forms.Form):
    tenant_id = forms.ChoiceField(label="Organisation", choices=())

    def __init__(self, *args: Any, tenants: list[dict[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tenant_id"].choices = [  # type: ignore[attr-defined]
            (t["tenant_id"], f"{t['name']} ({t['tenant_id']})") for t in tenants
        ]


def _mapping_choice(account: ExternalAccount) -> str:
    return " — ".join(x for x in (account.code, account.name, account.type, account.status) if x)


SETTING_MODE, SETTING_TAX, SETTING_TRACKING = "setting_mode", "setting_tax", "setting_tracking"


class MappingForm(forms.Form):
    """One select per role of the adapter, over their cached chart of accounts."""

    def __init__(
        self,
        *args: Any,
        roles: tuple[Role, ...],
        accounts: list[ExternalAccount],
        current: dict[str, str],
        mode: str = Connection.Mode.PER_OBJECT,
        tax_type: str = "",
        tracking: list[dict[str, str]] | None = None,
        line_settings: bool = True,
        **kwargs: Any,
    ) -> None:
        tracking = tracking or []
        kwargs["initial"] = current
        super().__init__(*args, **kwargs)
        base = [("", "— not mapped —")] + [(a.code, _mapping_choice(a)) for a in accounts if a.code]
        known = {a.code for a in accounts}
        for role in roles:
            choices = list(base)
            code = current.get(role.name, "")
            if code and code not in known:
                choices.append((code, f"{code} — not in their chart of accounts"))
            types = f" Fits: {', '.join(role.account_types)}." if role.account_types else ""
            self.fields[role.name] = forms.ChoiceField(
                label=role.name,
                choices=choices,
                required=False,
                help_text=f"{role.meaning}{types}{'' if role.required else ' (optional)'}",
            )
        # How the connection posts (not roles: role names never start with "setting ").
        self.fields[SETTING_MODE] = forms.ChoiceField(
            label="posting mode", choices=Connection.Mode.choices, initial=mode, required=False
        )
        if not line_settings:
            return  # the provider has no tax type or tracking on lines (QuickBooks here)
        self.fields[SETTING_TAX] = forms.CharField(
            label="tax type",
            required=False,
            initial=tax_type,
            help_text="Their TaxType code on every line, amounts then tax-exclusive (empty: none).",
        )
        self.fields[SETTING_TRACKING] = forms.CharField(
            label="tracking",
            required=False,
            initial="; ".join(f"{t['name']}={t['option']}" for t in tracking),
            help_text="Category=Option on every line, at most two, separated by ';'.",
        )

    def clean_setting_tracking(self) -> list[dict[str, str]]:
        text = self.cleaned_data.get(SETTING_TRACKING, "") or ""
        items = []
        for part in filter(None, (p.strip() for p in text.split(";"))):
            name, sep, option = part.partition("=")
            if not sep:
                raise forms.ValidationError(f"{part!r}: write Category=Option")
            items.append({"name": name.strip(), "option": option.strip()})
        return items


@admin.register(AccountingConnection)
class AccountingConnectionAdmin(admin.ModelAdmin):
    # The connections of one kind (accounting here; CRM below): the same screens for each.
    connection_kind: str = Connection.Kind.ACCOUNTING
    what = "books"  # what is connected, in the operator's words
    has_mapping = True  # an account mapping to their chart
    list_display = [
        "id",
        "provider",
        "owner_display",
        "tenant_name",
        "status_display",
        "last_success_at",
        "last_error_at",
        "token_display",
        "backlog_display",
        "links",
    ]
    list_filter = ["provider", "status", "owner"]
    search_fields = ["=id", "tenant_name", "=tenant_id", "=profile__id"]
    # Never the tokens: only these fields are shown, all read-only.
    fields = (
        "provider",
        "kind",
        "owner_display",
        "name",
        "status",
        "status_reason",
        "mode",
        "tenant_id",
        "tenant_name",
        "tenants_display",
        "base_currency",
        "currencies",
        "token_display",
        "token_refreshed_at",
        "scope",
        "tax_type",
        "tracking",
        "calls_per_minute",
        "calls_per_day",
        "max_concurrent",
        "blocked_until",
        "last_success_at",
        "last_error_at",
        "accounts_fetched_at",
        "backlog_display",
        "created_by",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["refresh_accounts", "disconnect"]
    change_form_template = f"{TEMPLATES}/connection_change_form.html"
    change_list_template = f"{TEMPLATES}/connection_change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request).filter(kind=self.connection_kind)
        return selectors.connections_with_backlog(queryset.select_related("profile"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # connections start with the OAuth dance ("Connect…"), not a form

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # "Disconnect" keeps the row and its jobs

    # --- columns ---------------------------------------------------------------------------

    @admin.display(description="owner")
    def owner_display(self, obj: Connection) -> str:
        if obj.owner == Connection.Owner.PLATFORM:
            return "platform's books"
        request = _viewer.get()
        # Engineering sees connections, not customers: the profile's name only with the right.
        if request is not None and request.user.has_perm("customers.view_profile"):
            url = reverse("admin:customers_profile_change", args=[obj.profile_id])
            name = obj.profile.legal_name if obj.profile else ""
            return format_html('<a href="{}">profile {} {}</a>', url, obj.profile_id, name)
        return f"profile {obj.profile_id}"

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: Connection) -> str:
        if obj.status_reason:
            return format_html(
                "{}<br><small>{}</small>", obj.get_status_display(), obj.status_reason[:200]
            )
        return obj.get_status_display()

    @admin.display(description="token")
    def token_display(self, obj: Connection) -> str:
        status = selectors.connection_token_status(obj)
        if obj.token_expires_at and status in ("valid", "expired (refreshed on next use)"):
            return f"{status}, expires {obj.token_expires_at:%Y-%m-%d %H:%M} UTC"
        return status

    @admin.display(description="jobs (pending / in flight / retry / failed / dead)")
    def backlog_display(self, obj: Connection) -> str:
        counts = [
            getattr(obj, name, 0)
            for name in ("jobs_pending", "jobs_in_flight", "jobs_retry", "jobs_failed", "jobs_dead")
        ]
        text = " / ".join(str(c) for c in counts)
        request = _viewer.get()
        if request is not None and request.user.has_perm("integrations.view_syncjob"):
            url = reverse("admin:integrations_syncjob_changelist")
            return format_html('<a href="{}?connection__id__exact={}">{}</a>', url, obj.pk, text)
        return text

    @admin.display(description="organisations offered")
    def tenants_display(self, obj: Connection) -> str:
        return ", ".join(f"{t.get('name')} ({t.get('tenant_id')})" for t in obj.available_tenants)

    @admin.display(description="")
    def links(self, obj: Connection) -> str:
        items = []
        request = _viewer.get()
        if self._can_map(request):
            url = reverse(f"admin:{self.url_base}_mapping", args=[obj.pk])
            items.append((url, "account mapping"))
        if obj.status == Connection.Status.SELECT_TENANT and self._can_operate(request):
            url = reverse(f"admin:{self.url_base}_tenant", args=[obj.pk])
            items.append((url, "choose organisation"))
        return format_html_join(" · ", '<a href="{}">{}</a>', items)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            "can_operate": self._can_operate(request),
            "url_base": f"admin:{self.url_base}",
            "what": self.what,
            **(extra_context or {}),
        }
        token = _viewer.set(request)  # the columns depend on who looks
        try:
            response = super().changelist_view(request, context)
            return response.render() if isinstance(response, TemplateResponse) else response
        finally:
            _viewer.reset(token)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
            "can_operate": self._can_operate(request),
            "can_map": self._can_map(request),
            "url_base": f"admin:{self.url_base}",
            "what": self.what,
            **(extra_context or {}),
        }
        connection = self.get_object(request, object_id) if object_id else None
        if connection is not None and not self._sees_customers(request):
            # The page's title and breadcrumb name the connection without its organisation.
            context["subtitle"] = f"#{connection.pk} {connection.provider} ({connection.owner})"
        token = _viewer.set(request)
        try:
            response = super().changeform_view(request, object_id, form_url, context)
            return response.render() if isinstance(response, TemplateResponse) else response
        finally:
            _viewer.reset(token)

    def _can_operate(self, request: HttpRequest | None) -> bool:
        return request is not None and self.has_change_permission(request)

    def _can_map(self, request: HttpRequest | None) -> bool:
        return (
            self.has_mapping
            and request is not None
            and request.user.has_perm("integrations.view_accountmapping")
        )

    @property
    def url_base(self) -> str:
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}"

    # Engineering sees the machinery, not whose books: the organisation's name, the
    # organisations offered and who connected it are for those who may see customers.
    CUSTOMER_FIELDS = ("tenant_name", "tenants_display", "created_by")

    def _sees_customers(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("customers.view_profile"))

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = list(super().get_list_display(request))
        if self._sees_customers(request):
            return columns
        return ["tenant_id" if c == "tenant_name" else c for c in columns]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if self._sees_customers(request):
            return fields
        return [f for f in fields if f not in self.CUSTOMER_FIELDS]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)

    # --- actions ---------------------------------------------------------------------------

    @admin.action(description="Refresh chart of accounts", permissions=["change"])
    def refresh_accounts(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        for connection in queryset:
            self._refresh(request, connection)

    def _refresh(self, request: HttpRequest, connection: Connection) -> None:
        if not connection.is_active:
            self.message_user(
                request,
                f"{connection}: not refreshed, the connection is "
                f"{connection.get_status_display().lower()}.",
                messages.ERROR,
            )
            return
        try:
            count = services.accounts_refresh(connection_id=connection.pk)
        except (IntegrationError, LookupError) as exc:
            self.message_user(
                request, f"{connection}: not refreshed. {_problem_text(exc)}", messages.ERROR
            )
        else:
            self.message_user(request, f"{connection}: {count} account(s) fetched.")

    @admin.action(
        description="Disconnect (revoke the grant; reason required)…", permissions=["change"]
    )
    def disconnect(self, request: HttpRequest, queryset: QuerySet[Connection]) -> Any:
        def apply(actor: Actor, obj: Connection, reason: str) -> object:
            return _domain(
                lambda: services.connection_disconnect(
                    actor=actor, connection_id=obj.pk, reason=reason
                )
            )

        return action_with_reason(
            self,
            request,
            queryset.exclude(status=Connection.Status.DISCONNECTED),
            action="disconnect",
            title="Disconnect",
            reason_required=True,
            apply=apply,
            done="disconnected",
        )

    # --- pages of one connection -----------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        name = self.url_base
        return [
            path("connect/", wrap(self.connect_view), name=f"{name}_connect"),
            path("<int:pk>/mapping/", wrap(self.mapping_view), name=f"{name}_mapping"),
            path("<int:pk>/reconnect/", wrap(self.reconnect_view), name=f"{name}_reconnect"),
            path("<int:pk>/refresh/", wrap(self.refresh_view), name=f"{name}_refresh"),
            path("<int:pk>/disconnect/", wrap(self.disconnect_view), name=f"{name}_disconnect"),
            path("<int:pk>/tenant/", wrap(self.tenant_view), name=f"{name}_tenant"),
            *super().get_urls(),
        ]

    def _connection(self, request: HttpRequest, pk: int, *, operate: bool) -> Connection:
        if not (self._can_operate(request) if operate else self.has_view_permission(request)):
            raise PermissionDenied
        connection: Connection = get_object_or_404(self.get_queryset(request), pk=pk)
        return connection

    def _change_url(self, connection: Connection) -> str:
        return reverse(f"admin:{self.url_base}_change", args=[connection.pk])

    def _page(self, request: HttpRequest, template: str, **context: Any) -> TemplateResponse:
        return TemplateResponse(
            request,
            f"{TEMPLATES}/{template}",
            {**self.admin_site.each_context(request), "opts": self.model._meta, **context},
        )

    def _start(
        self, request: HttpRequest, *, provider: str, profile_id: int | None
    ) -> HttpResponse:
        """connection_start, then send the operator to the provider to sign in and consent."""
        try:
            _connection, url = services.connection_start(
                actor=actor_for_request(request),
                provider=provider,
                profile_id=profile_id,
                return_to=reverse(f"admin:{self.url_base}_changelist"),
            )
        except (IntegrationError, LookupError, UnsafeUrl) as exc:
            self.message_user(request, f"Not started: {_problem_text(exc)}", messages.ERROR)
            return HttpResponseRedirect(reverse(f"admin:{self.url_base}_changelist"))
        return HttpResponseRedirect(url)

    def connect_view(self, request: HttpRequest) -> HttpResponse:
        if not self._can_operate(request):
            raise PermissionDenied
        form = ConnectForm(
            request.POST if request.method == "POST" else None, kind=self.connection_kind
        )
        if request.method == "POST" and form.is_valid():
            return self._start(
                request,
                provider=form.cleaned_data["provider"],
                profile_id=form.cleaned_data["profile_id"],
            )
        return self._page(
            request,
            "form.html",
            title=f"Connect {self.connection_kind} {self.what}",
            form=form,
            submit="Continue to the provider",
            intro="You will sign in at the provider and choose the organisation to connect.",
        )

    def reconnect_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        connection = self._connection(request, pk, operate=True)
        if request.method != "POST":
            return HttpResponseRedirect(self._change_url(connection))
        return self._start(request, provider=connection.provider, profile_id=connection.profile_id)

    def refresh_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        connection = self._connection(request, pk, operate=True)
        if request.method == "POST":
            self._refresh(request, connection)
        return HttpResponseRedirect(self._change_url(connection))

    def disconnect_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        connection = self._connection(request, pk, operate=True)
        form = ReasonOnlyForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            services.connection_disconnect(
                actor=actor_for_request(request),
                connection_id=connection.pk,
                reason=form.cleaned_data["reason"],
            )
            self.message_user(request, f"{connection}: disconnected.", messages.WARNING)
            return HttpResponseRedirect(self._change_url(connection))
        return self._page(
            request,
            "form.html",
            title=f"Disconnect {connection}",
            form=form,
            submit="Disconnect",
            intro="The grant is revoked at the provider and the tokens forgotten. Jobs stay "
            "in the queue and run again after a reconnect.",
        )

    def tenant_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        connection = self._connection(request, pk, operate=True)
        form = TenantForm(
            request.POST if request.method == "POST" else None,
            tenants=connection.available_tenants,
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.connection_tenant_choose(
                    actor=actor_for_request(request),
                    connection_id=connection.pk,
                    tenant_id=form.cleaned_data["tenant_id"],
                )
            except (IntegrationError, LookupError) as exc:
                # The choice is saved before the chart is fetched: say what did not work.
                self.message_user(request, _problem_text(exc), messages.ERROR)
            else:
                self.message_user(request, f"{connection}: organisation chosen, connected.")
            return HttpResponseRedirect(self._change_url(connection))
        return self._page(
            request,
            "form.html",
            title=f"Choose the organisation of {connection}",
            form=form,
            submit="Connect this organisation",
            intro="This grant reaches several organisations; choose the one to sync with.",
        )

    def mapping_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm("integrations.view_accountmapping"):
            raise PermissionDenied
        connection = self._connection(request, pk, operate=False)
        can_change = request.user.has_perm("integrations.change_accountmapping")
        try:
            adapter = adapter_for(connection.provider)
            roles = adapter.roles(connection=connection)
        except LookupError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(self._change_url(connection))
        accounts = list(ExternalAccount.objects.filter(connection=connection))
        current = dict(
            AccountMapping.objects.filter(connection=connection).values_list("role", "account_code")
        )
        data = request.POST if request.method == "POST" and can_change else None
        form = MappingForm(
            data,
            roles=roles,
            accounts=accounts,
            current=current,
            mode=connection.mode,
            tax_type=connection.tax_type,
            tracking=connection.tracking,
            # Tax type and tracking on every line: for providers that have them (Xero's).
            line_settings=bool(getattr(adapter, "line_settings", True)),
        )
        if data is not None and form.is_valid():
            actor = actor_for_request(request)
            settings_now = (connection.mode, connection.tax_type, connection.tracking)
            wanted = (
                form.cleaned_data[SETTING_MODE] or connection.mode,
                (form.cleaned_data.get(SETTING_TAX, connection.tax_type) or "").strip(),
                form.cleaned_data.get(SETTING_TRACKING, connection.tracking),
            )
            if wanted != settings_now:
                try:
                    services.connection_settings_set(
                        actor=actor,
                        connection_id=connection.pk,
                        mode=wanted[0],
                        tax_type=wanted[1],
                        tracking=wanted[2],
                    )
                except PermanentError as exc:
                    self.message_user(request, exc.message, messages.ERROR)
                    return HttpResponseRedirect(request.path)
            changed = 0
            for role in roles:
                code = form.cleaned_data.get(role.name, "")
                if code != current.get(role.name, ""):
                    services.mapping_set(
                        actor=actor, connection_id=connection.pk, role=role.name, account_code=code
                    )
                    changed += 1
            self.message_user(request, f"{changed} role(s) mapped.")
            return HttpResponseRedirect(request.path)
        return self._page(
            request,
            "mapping.html",
            title=f"Account mapping of {connection}",
            connection=connection,
            form=form,
            problems=services.mapping_problems(connection=connection),
            can_change=can_change,
            change_url=self._change_url(connection),
        )


# ---------------------------------------------------------------------------------------------
# The failed-sync queue


class StuckFilter(admin.SimpleListFilter):
    title = "in flight"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "stuck in flight (lease lapsed)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(state=State.IN_FLIGHT, locked_until__lt=timezone.now())
        return queryset


class JobAgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("waiting_1h", "waiting over an hour (pending or retrying)"),
            ("waiting_1d", "waiting over a day"),
            ("24h", "created in the last 24 hours"),
            ("7d", "created in the last 7 days"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        waiting = [State.PENDING, State.RETRY_SCHEDULED]
        value = self.value()
        if value == "waiting_1h":
            return queryset.filter(state__in=waiting, created_at__lt=now - timedelta(hours=1))
        if value == "waiting_1d":
            return queryset.filter(state__in=waiting, created_at__lt=now - timedelta(days=1))
        if value == "24h":
            return queryset.filter(created_at__gte=now - timedelta(hours=24))
        if value == "7d":
            return queryset.filter(created_at__gte=now - timedelta(days=7))
        return queryset


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("failed", "failed or dead (an operator acts)"),
            ("retrying", "retry scheduled"),
            ("waiting", "pending or retrying"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "failed":
            return queryset.filter(state__in=[State.FAILED, State.DEAD])
        if value == "retrying":
            return queryset.filter(state=State.RETRY_SCHEDULED)
        if value == "waiting":
            return queryset.filter(state__in=[State.PENDING, State.RETRY_SCHEDULED])
        return queryset


class ObjectStatusForm(forms.Form):
    object_type = forms.ChoiceField(choices=[(t, t) for t in selectors.OBJECT_TYPES])
    object_id = forms.CharField(max_length=100, help_text="a transfer's reference or id")


class NoEditMixin:
    """Rows only the engine and the actions change: no add, no delete, no edit form."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
            **(extra_context or {}),
        }
        return super().changeform_view(request, object_id, form_url, context)  # type: ignore[misc]


@admin.register(SyncJob)
class SyncJobAdmin(NoEditMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "connection_display",
        "object_link",
        "action",
        "state",
        "external_id",
        "attempts",
        "last_error_class",
        "short_error",
        "next_attempt",
    ]
    list_filter = [
        NeedsAttentionFilter,
        "state",
        StuckFilter,
        JobAgeFilter,
        "connection",
        "last_error_class",
        "action",
        "object_type",
    ]
    search_fields = ["=object_id", "=external_id", "=external_number"]
    list_select_related = ["connection"]
    show_full_result_count = False
    ordering = ["-created_at", "-pk"]
    actions = ["retry", "skip"]
    change_list_template = f"{TEMPLATES}/syncjob_change_list.html"
    fields = (
        "connection",
        "object_type",
        "object_id",
        "object_link",
        "action",
        "state",
        "depends_on",
        "event_id",
        "external_id",
        "external_number",
        "external_version",
        "payload_hash",
        "attempts",
        "last_error_class",
        "last_error",
        "note",
        "next_attempt_at",
        "locked_until",
        "enqueued_at",
        "synced_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="connection", ordering="connection_id")
    def connection_display(self, obj: SyncJob) -> str:
        connection = obj.connection
        return f"#{connection.pk} {connection.provider} {connection.tenant_name}".strip()

    @admin.display(description="object")
    def object_link(self, obj: SyncJob) -> str:
        label = f"{obj.object_type} {obj.object_id}"
        url = object_admin_url(obj.object_type, obj.object_id)
        status = object_status_url(obj.object_type, obj.object_id)
        if url is None:
            return format_html('{} (<a href="{}">sync status</a>)', label, status)
        return format_html('<a href="{}">{}</a> (<a href="{}">sync status</a>)', url, label, status)

    @admin.display(description="last error")
    def short_error(self, obj: SyncJob) -> str:
        if len(obj.last_error) <= ERROR_CHARS:
            return obj.last_error
        return obj.last_error[:ERROR_CHARS] + "…"

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, obj: SyncJob) -> Any:
        return obj.next_attempt_at if obj.state in selectors.BACKLOG_STATES else "—"

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "retry-matching/",
                wrap(self.retry_matching_view),
                name="integrations_syncjob_retry_matching",
            ),
            path(
                "object-status/",
                wrap(self.object_status_view),
                name="integrations_syncjob_object_status",
            ),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        query = request.GET.urlencode()
        context = {
            "retry_matching_url": reverse("admin:integrations_syncjob_retry_matching")
            + (f"?{query}" if query else ""),
            "object_status_url": reverse("admin:integrations_syncjob_object_status"),
            "can_operate": self.has_change_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    @admin.action(description="Retry now (reason required)…", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> Any:
        def apply(actor: Actor, obj: SyncJob, reason: str) -> object:
            return _domain(lambda: services.job_retry(actor=actor, job_id=obj.pk, reason=reason))

        return action_with_reason(
            self,
            request,
            queryset,
            action="retry",
            title="Retry sync jobs",
            reason_required=True,
            apply=apply,
            done="queued again",
        )

    @admin.action(description="Skip with a note (it will not be synced)…", permissions=["change"])
    def skip(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> Any:
        def apply(actor: Actor, obj: SyncJob, note: str) -> object:
            return _domain(lambda: services.job_skip(actor=actor, job_id=obj.pk, note=note))

        return action_with_reason(
            self,
            request,
            queryset,
            action="skip",
            title="Skip sync jobs",
            reason_required=True,
            apply=apply,
            done="skipped",
        )

    def retry_matching_view(self, request: HttpRequest) -> HttpResponse:
        """Retry every retryable job the changelist's current filter shows (asks for a reason
        and shows how many first)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request)
        retryable = queryset.filter(
            state__in=[State.FAILED, State.DEAD, State.SKIPPED, State.RETRY_SCHEDULED]
        )
        back = reverse("admin:integrations_syncjob_changelist") + (
            f"?{request.GET.urlencode()}" if request.GET else ""
        )
        form = ReasonOnlyForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            count = services.jobs_retry(
                actor=actor_for_request(request),
                jobs=retryable,
                reason=form.cleaned_data["reason"],
            )
            self.message_user(request, f"{count} job(s) queued again.")
            return HttpResponseRedirect(back)
        return TemplateResponse(
            request,
            f"{TEMPLATES}/form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Retry all matching the current filter",
                "intro": f"{retryable.count()} job(s) matching the current filter can be "
                "retried (failed, dead, skipped or waiting to retry). Each is put back in "
                "the queue, due now, with its attempts reset.",
                "form": form,
                "submit": "Retry them",
                "back": back,
            },
        )

    def object_status_view(self, request: HttpRequest) -> HttpResponse:
        """The sync status of one transfer or profile: every job with its external refs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ObjectStatusForm(request.GET or None)
        rows: list[selectors.ObjectSyncStatus] = []
        link = None
        if form.is_valid():
            object_type = form.cleaned_data["object_type"]
            object_id = form.cleaned_data["object_id"].strip()
            rows = selectors.object_sync_status(object_type=object_type, object_id=object_id)
            link = object_admin_url(object_type, object_id)
        return TemplateResponse(
            request,
            f"{TEMPLATES}/object_status.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Sync status of an object",
                "form": form,
                "rows": rows,
                "object_link": link,
                "searched": form.is_bound,
            },
        )


# ---------------------------------------------------------------------------------------------
# Mismatches


@admin.register(SyncMismatch)
class SyncMismatchAdmin(NoEditMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "connection_display",
        "object_display",
        "external_id",
        "short_detail",
        "status",
        "resolved_by",
    ]
    list_filter = ["status", "kind", "connection"]
    search_fields = ["=object_id", "=external_id"]
    list_select_related = ["connection"]
    ordering = ["-created_at", "-pk"]
    actions = ["resolve"]
    fields = (
        "connection",
        "job",
        "kind",
        "object_type",
        "object_id",
        "external_id",
        "detail",
        "ours",
        "theirs",
        "status",
        "resolved_by",
        "resolution_note",
        "resolved_at",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="connection", ordering="connection_id")
    def connection_display(self, obj: SyncMismatch) -> str:
        connection = obj.connection
        return f"#{connection.pk} {connection.provider} {connection.tenant_name}".strip()

    @admin.display(description="object")
    def object_display(self, obj: SyncMismatch) -> str:
        if not obj.object_type:
            return "—"
        label = f"{obj.object_type} {obj.object_id}"
        url = object_admin_url(obj.object_type, obj.object_id)
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    @admin.display(description="detail")
    def short_detail(self, obj: SyncMismatch) -> str:
        return obj.detail if len(obj.detail) <= ERROR_CHARS else obj.detail[:ERROR_CHARS] + "…"

    @admin.action(description="Resolve with a note…", permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[SyncMismatch]) -> Any:
        def apply(actor: Actor, obj: SyncMismatch, note: str) -> object:
            return _domain(lambda: mismatch_resolve(actor=actor, mismatch_id=obj.pk, note=note))

        return action_with_reason(
            self,
            request,
            queryset,
            action="resolve",
            title="Resolve mismatches",
            reason_required=True,
            apply=apply,
            done="resolved",
        )


@admin.register(CrmConnection)
class CrmConnectionAdmin(AccountingConnectionAdmin):
    """The same screens for CRM connections, with what may reach the CRM (the connector's
    allowlist per object) on each connection's page: operators see what leaves, and nothing
    else can."""

    connection_kind = Connection.Kind.CRM
    what = "CRM"
    has_mapping = False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        drop = {"mode", "base_currency", "currencies", "tax_type", "tracking"}
        fields = [f for f in super().get_fields(request, obj) if f not in drop]
        return [*fields, "calls_window_seconds", "allowlist_display"]

    @admin.display(description="what may reach the CRM (allowlist)")
    def allowlist_display(self, obj: Connection) -> str:
        allowlist = getattr(adapter_for(obj.provider), "allowlist", None)
        if allowlist is None:
            return "-"
        rows = [
            (kind, name, meaning)
            for kind, properties in allowlist().items()
            for name, meaning in properties.items()
        ]
        body = format_html_join("", "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>", rows)
        return format_html(
            "<table><tr><th>object</th><th>property</th><th>holds only</th></tr>{}</table>", body
        )
