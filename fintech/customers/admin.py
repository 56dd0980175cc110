"""Operator console for profiles and memberships.

Writes go through the services: adding a profile calls `profile_create` (so it gets its
compliance status, audit row and `customer.created` event), adding or removing a member calls
`membership_add` / `membership_remove`. Existing rows are shown read-only: there is no
profile-update service yet, and the admin must not bypass the audit trail.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from fintech.compliance.screening.selectors import screening_hold_summary
from fintech.core.errors import ValidationFailed
from fintech.core.money import format_minor
from fintech.customers.admin_helpers import action_with_reason, actor_for_request
from fintech.customers.models import Membership, Profile
from fintech.customers.services import membership_add, membership_remove, profile_create
from fintech.customers.validators import profile_input_clean
from fintech.wallets.selectors import profile_wallet_balances

PROFILE_FIELDS = [
    "kind",
    "legal_name",
    "registration_number",
    "country",
    "address_line1",
    "address_line2",
    "city",
    "postal_code",
    "email",
    "is_sandbox",
]


class ProfileCreateForm(forms.ModelForm):
    """The add form: the service's own validation, shown next to each field."""

    class Meta:
        model = Profile
        fields = PROFILE_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        values = {f: cleaned.get(f, "") for f in PROFILE_FIELDS if f != "is_sandbox"}
        try:
            profile_input_clean(**values)
        except ValidationFailed as exc:
            for error in exc.fields:
                if error.field in self.fields and error.field not in self.errors:
                    self.add_error(error.field, error.message)
        return cleaned


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = [
        "legal_name",
        "kind",
        "country",
        "compliance_state",
        "review_required",
        "member_count",
        "is_sandbox",
        "created_at",
    ]
    list_select_related = ["compliance"]
    list_filter = [
        "kind",
        "country",
        "compliance__state",
        "compliance__review_required",
        "is_sandbox",
    ]
    search_fields = ["legal_name", "registration_number", "email"]
    date_hierarchy = "created_at"
    inlines = [MembershipInline]
    readonly_fields = [
        *PROFILE_FIELDS,
        "compliance_link",
        "compliance_hold",
        "wallet_balances",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="compliance hold")
    def compliance_hold(self, obj: Profile) -> str:
        # That a hold exists, for every role that sees the profile; why is on the case, which
        # only compliance sees.
        held = screening_hold_summary(profile_id=obj.pk)
        if not held:
            return "none"
        return (
            f"on hold by compliance: {', '.join(held)} (no transfer can be created or "
            "submitted until compliance decides)"
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Profile]:
        return (
            super()
            .get_queryset(request)
            .select_related("compliance")
            .annotate(member_count=Count("memberships", distinct=True))
        )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ProfileCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.readonly_fields) if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return tuple(PROFILE_FIELDS)
        return (
            *PROFILE_FIELDS,
            "compliance_link",
            "compliance_hold",
            "wallet_balances",
            "created_at",
            "updated_at",
        )

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[type[InlineModelAdmin[Any, Any]]]:
        return [MembershipInline] if obj is not None else []

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The change page is a read-only view: no profile-update service exists yet.
        return False if obj is not None else super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Profile, form: Any, change: bool) -> None:
        data = {f: form.cleaned_data[f] for f in PROFILE_FIELDS}
        created = profile_create(actor=actor_for_request(request), **data)
        # The admin continues with `obj` (messages, redirect): make it the saved row.
        obj.pk = created.pk
        obj.refresh_from_db()

    @admin.display(description="compliance", ordering="compliance__state")
    def compliance_state(self, obj: Profile) -> str:
        return obj.compliance.get_state_display()

    @admin.display(description="review", boolean=True, ordering="compliance__review_required")
    def review_required(self, obj: Profile) -> bool:
        return obj.compliance.review_required

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj: Profile) -> int:
        return int(getattr(obj, "member_count", 0))

    @admin.display(description="compliance status")
    def compliance_link(self, obj: Profile) -> str:
        status = obj.compliance
        url = reverse("admin:compliance_compliancestatus_change", args=[status.pk])
        flag = f" (review required: {status.review_reason})" if status.review_required else ""
        return format_html('<a href="{}">{}</a>{}', url, status.get_state_display(), flag)

    @admin.display(description="wallet balances")
    def wallet_balances(self, obj: Profile) -> str:
        # From the ledger (the source of truth): posted, held and available, with a link to
        # each wallet's statement.
        wallets = profile_wallet_balances(profile=obj)
        if not wallets:
            return "no wallets yet"
        rows = format_html_join(
            "",
            '<li><a href="{}">{} {}</a> (held {}, available {})</li>',
            (
                (
                    reverse("admin:ledger_account_statement", args=[w.id]),
                    format_minor(w.posted_minor, currency),
                    currency,
                    format_minor(w.held_minor, currency),
                    format_minor(w.available_minor, currency),
                )
                for currency, w in sorted(wallets.items())
            ),
        )
        return format_html("<ul>{}</ul>", rows)


class MembershipAddForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["profile", "user", "role"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "profile", "role", "created_at"]
    list_select_related = ["user", "profile"]
    list_filter = ["role", "profile__kind", "profile__is_sandbox"]
    search_fields = ["user__username", "user__email", "profile__legal_name"]
    raw_id_fields = ["profile", "user"]
    form = MembershipAddForm
    actions = ["remove_members"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["profile", "user", "role", "created_at"] if obj is not None else []

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Read-only once created: changing a role is remove-and-add, both audited.
        return False if obj is not None else super().has_change_permission(request)

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        created = membership_add(
            actor=actor_for_request(request),
            profile=form.cleaned_data["profile"],
            user=form.cleaned_data["user"],
            role=form.cleaned_data["role"],
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Removal is the "remove members" action: it asks for a reason and calls the service.
        return False

    @admin.action(description="Remove selected members (asks for a reason)", permissions=["change"])
    def remove_members(
        self, request: HttpRequest, queryset: QuerySet[Membership]
    ) -> TemplateResponse | None:
        return action_with_reason(
            self,
            request,
            queryset.select_related("user", "profile"),
            action="remove_members",
            title="Remove members",
            reason_required=True,
            apply=lambda actor, m, reason: membership_remove(
                actor=actor, membership=m, reason=reason
            ),
            done="removed",
        )
