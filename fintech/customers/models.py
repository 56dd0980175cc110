"""Customers: profiles (personal or business) and the users who are members of them."""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models


# Row history by database triggers (pghistory): bulk updates, raw SQL and shell sessions are
# recorded too, and the event tables refuse UPDATE and DELETE. (Tracker instances must not be
# shared between models, hence one tuple per model.) Business actions are in core.AuditEvent.
@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class Profile(models.Model):
    """Who holds money with us: a person or a business. Every customer record hangs off one."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", "Personal"
        BUSINESS = "business", "Business"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    legal_name = models.CharField(max_length=200)
    registration_number = models.CharField(
        max_length=50, blank=True, help_text="company number; businesses only"
    )
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    address_line1 = models.CharField(max_length=200)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20, blank=True)
    email = models.EmailField()
    # The account manager the CRM assigned (its owner), kept in step by the CRM's webhooks.
    account_manager_email = models.EmailField(blank=True)
    account_manager_name = models.CharField(max_length=200, blank=True)
    # Sandbox profiles belong to integrators' test applications and never mix with live data.
    is_sandbox = models.BooleanField(default=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["legal_name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["personal", "business"]), name="profile_kind_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="business", registration_number=""),
                name="business_profile_has_registration_number",
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class Membership(models.Model):
    """A user's role in a profile; a user may belong to several profiles."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["profile_id", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "profile"], name="membership_unique_user_profile"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} of {self.profile}"
