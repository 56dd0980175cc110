"""The operator console's AdminSite: Django's admin behind the staff second factor.

With settings.STAFF_2FA_REQUIRED, a password alone opens nothing: the admin's pages need a
session that also passed a code (fintech/core/two_factor.py). After the password, the login
page sends staff on to /admin/2fa/ (a code from their app, or a recovery code) or, with no
device yet, to /admin/2fa/enrol/ (a QR code, one code to confirm, recovery codes shown once).
/admin/2fa/reset/<user id>/ deletes a user's devices, for admins only, with a reason, audited.
"""

from __future__ import annotations

import re
from base64 import b32encode
from collections.abc import Callable
from typing import Any

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth import logout as auth_logout
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from fintech.core.services import Actor
from fintech.core.two_factor import (
    staff_has_device,
    staff_totp_confirm,
    staff_totp_pending,
    staff_two_factor_reset,
    staff_two_factor_verify,
)

RESET_PERMISSIONS = ("otp_totp.delete_totpdevice", "otp_static.delete_staticdevice")


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


class ResetForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=500, widget=forms.Textarea)


def _is_verified(request: HttpRequest) -> bool:
    verified = getattr(request.user, "is_verified", None)
    return bool(verified and verified())


def _qr_svg(data: str) -> str:
    """The QR code as inline SVG markup (no image URL, nothing from a CDN)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage)
    svg = str(image.to_string(encoding="unicode"))
    # qrcode sizes it in millimetres (about 3 cm); the viewBox lets it scale to a phone-friendly
    # square instead.
    return re.sub(r'^<svg width="[^"]*" height="[^"]*"', '<svg width="240" height="240"', svg)


class StaffAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.STAFF_2FA_REQUIRED or _is_verified(request)

    def _next(self, request: HttpRequest) -> str:
        target = request.POST.get("next") or request.GET.get("next") or ""
        if url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        return reverse("admin:index", current_app=self.name)

    def _second_factor_url(self, request: HttpRequest) -> str:
        name = "admin:two-factor" if staff_has_device(request.user) else "admin:two-factor-enrol"
        query = request.GET.urlencode()
        return reverse(name, current_app=self.name) + (f"?{query}" if query else "")

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        user = request.user
        if (
            user.is_active
            and user.is_staff
            and settings.STAFF_2FA_REQUIRED
            and not _is_verified(request)
        ):
            # The password is done; the second factor is not.
            return HttpResponseRedirect(self._second_factor_url(request))
        return super().login(request, extra_context)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        return [
            path("2fa/", self._staff_only(self.two_factor_view), name="two-factor"),
            path("2fa/enrol/", self._staff_only(self.enrol_view), name="two-factor-enrol"),
            path("2fa/sign-out/", self._staff_only(self.sign_out_view), name="two-factor-sign-out"),
            path(
                "2fa/reset/<int:user_id>/",
                self.admin_view(self.reset_view),
                name="two-factor-reset",
            ),
            *super().get_urls(),
        ]

    def _staff_only(self, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        """Signed in with a password as active staff, second factor not needed (yet)."""

        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not (user.is_active and user.is_staff):
                login_url = reverse("admin:login", current_app=self.name)
                return HttpResponseRedirect(login_url)
            return view(request, *args, **kwargs)

        return never_cache(csrf_protect(inner))

    def _page(self, request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
        return render(
            request,
            template,
            {**self.each_context(request), "next": self._next(request), **context},
        )

    def two_factor_view(self, request: HttpRequest) -> HttpResponse:
        if not staff_has_device(request.user):
            return HttpResponseRedirect(self._second_factor_url(request))
        form = TokenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            device = staff_two_factor_verify(
                user=request.user,
                token=form.cleaned_data["token"],
                request_id=str(getattr(request, "request_id", "")),
            )
            if device is not None:
                otp_login(request, device)
                return HttpResponseRedirect(self._next(request))
            form.add_error("token", "That code is wrong, already used, or expired.")
        return self._page(
            request, "admin/two_factor/verify.html", {"form": form, "title": "Two-factor check"}
        )

    def enrol_view(self, request: HttpRequest) -> HttpResponse:
        if staff_has_device(request.user):
            return HttpResponseRedirect(self._second_factor_url(request))
        device = staff_totp_pending(user=request.user)
        form = TokenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            codes = staff_totp_confirm(
                user=request.user,
                device=device,
                token=form.cleaned_data["token"],
                request_id=str(getattr(request, "request_id", "")),
            )
            if codes is not None:
                device.refresh_from_db()
                otp_login(request, device)
                # The only time the codes are shown: this response, never cached.
                return self._page(
                    request,
                    "admin/two_factor/recovery_codes.html",
                    {"codes": codes, "title": "Your recovery codes"},
                )
            form.add_error("token", "That code does not match. Check the app's clock and retry.")
        return self._page(
            request,
            "admin/two_factor/enrol.html",
            {
                "form": form,
                "title": "Set up two-factor authentication",
                # qrcode writes only paths of the data we gave it: no user-written markup.
                "qr_svg": mark_safe(_qr_svg(device.config_url)),  # noqa: S308
                "secret": _base32_key(device.bin_key),
            },
        )

    @method_decorator(require_POST)
    def sign_out_view(self, request: HttpRequest) -> HttpResponse:
        auth_logout(request)
        return HttpResponseRedirect(reverse("admin:login", current_app=self.name))

    def reset_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        if not request.user.has_perms(RESET_PERMISSIONS):
            raise PermissionDenied
        target = get_object_or_404(get_user_model(), pk=user_id)
        form = ResetForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            deleted = staff_two_factor_reset(
                actor=Actor.for_user(
                    request.user, request_id=str(getattr(request, "request_id", ""))
                ),
                user=target,
                reason=form.cleaned_data["reason"],
            )
            messages.success(
                request,
                f"Two-factor reset for {target.get_username()}: {deleted} device(s) deleted; "
                "they set up a new authenticator at their next sign-in.",
            )
            return HttpResponseRedirect(
                reverse("admin:auth_user_change", args=[target.pk], current_app=self.name)
            )
        return self._page(
            request,
            "admin/two_factor/reset.html",
            {"form": form, "target": target, "title": "Reset two-factor authentication"},
        )


def _base32_key(key: bytes) -> str:
    return b32encode(key).decode().rstrip("=")
