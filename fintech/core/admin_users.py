"""Staff accounts in the admin: Django's user screens plus each user's two-factor state and
the link to its audited reset (fintech/core/admin_site.py).

django-otp's own device screens are taken out: they would let anyone with the model
permissions delete a device without a reason or an audit row, or read a TOTP key (and so
clone a colleague's second factor). The reset page is the one way to remove devices."""

from __future__ import annotations

from typing import Any

# Imported so their registrations happen first and can be undone below.
import django_otp.plugins.otp_static.admin
import django_otp.plugins.otp_totp.admin  # noqa: F401
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.urls import reverse
from django.utils.html import format_html
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)

User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    readonly_fields = ("two_factor",)

    def get_fieldsets(self, request: Any, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append(("Two-factor authentication", {"fields": ("two_factor",)}))
        return fieldsets

    @admin.display(description="Devices")
    def two_factor(self, obj: Any) -> str:
        devices = list(devices_for_user(obj, confirmed=True))
        if not devices:
            state = "Not set up (enrols at next sign-in)"
        else:
            codes = sum(d.token_set.count() for d in devices if isinstance(d, StaticDevice))
            state = f"Authenticator app set up; {codes} recovery code(s) left"
        if not devices:
            return state
        # Only holders of RESET_PERMISSIONS (the admin role) get past the link.
        url = reverse("admin:two-factor-reset", args=[obj.pk])
        return format_html('{} — <a href="{}">Reset two-factor…</a>', state, url)
