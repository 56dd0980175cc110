"""Small pieces shared by the customer, compliance and beneficiary admins.

`action_with_reason` turns an admin action into: a confirmation page asking for a reason,
then one service call per selected row, each reported as its own success or error message.
A row the service refuses (a transition not allowed, a bad reason) changes nothing and the
other rows still go through: every call is its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from fintech.core.errors import DomainError
from fintech.core.services import Actor

M = TypeVar("M", bound=Model)

TEMPLATE = "admin/customers/action_with_reason.html"


def actor_for_request(request: HttpRequest) -> Actor:
    request_id = getattr(request, "request_id", "") or request.META.get("HTTP_X_REQUEST_ID", "")
    return Actor.for_user(request.user, request_id=str(request_id)[:64])


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        max_length=2000,
        strip=True,
        help_text="Recorded in the audit trail with your name.",
    )

    def __init__(self, *args: Any, reason_required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required


def action_with_reason(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[M],
    *,
    action: str,
    title: str,
    reason_required: bool,
    apply: Callable[[Actor, M, str], object],
    done: str,
    label: Callable[[M], str] = str,
) -> TemplateResponse | None:
    """Show the confirmation page, or (once confirmed) apply the service to each row.

    `apply(actor, obj, reason)` calls the service; `done` is the success message's verb phrase;
    `label(obj)` names the row in messages.
    Returning None sends the admin back to the changelist, where the messages are shown.
    """
    if request.POST.get("confirm") == "yes":
        form = ReasonForm(request.POST, reason_required=reason_required)
        if form.is_valid():
            actor = actor_for_request(request)
            reason = form.cleaned_data["reason"]
            for obj in queryset:
                try:
                    apply(actor, obj, reason)
                except DomainError as exc:
                    modeladmin.message_user(
                        request, f"{label(obj)}: not changed. {exc.message}", messages.ERROR
                    )
                else:
                    modeladmin.message_user(request, f"{label(obj)}: {done}.", messages.SUCCESS)
            return None
    else:
        form = ReasonForm(reason_required=reason_required)
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "objects": [label(obj) for obj in queryset],
        "selected": [obj.pk for obj in queryset],
        "form": form,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "select_across": request.POST.get("select_across", "0"),
    }
    return TemplateResponse(request, TEMPLATE, context)
