"""API v1 records: which business an OAuth application acts for, idempotency keys, request log."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from encrypted_fields.fields import EncryptedTextField
from oauth2_provider.settings import oauth2_settings

from fintech.api.scopes import ALL_SCOPES
from fintech.customers.models import Profile


class ApiClient(models.Model):
    """An OAuth application's binding: the one business profile it acts for and its scopes.

    Client-credentials tokens carry no user, so this is how a token finds its business. For
    authorization-code tokens the authorising user must also be a member of `profile`.
    """

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="api_client"
    )
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="api_clients")
    scopes = ArrayField(
        models.CharField(max_length=50),
        default=list,
        blank=True,
        help_text="the scopes this application may obtain; asking for others is invalid_scope",
    )
    # Sandbox clients are bound to sandbox profiles only, so they never see live data.
    is_sandbox = models.BooleanField(default=False)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="empty: the platform default (API_RATE_LIMIT_PER_MINUTE)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "API client"

    def __str__(self) -> str:
        return f"{self.application_id} for {self.profile_id}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        unknown = sorted(set(self.scopes) - set(ALL_SCOPES))
        if unknown:
            errors["scopes"] = f"unknown scopes: {', '.join(unknown)}"
        if self.profile_id is not None and self.profile.is_sandbox != self.is_sandbox:
            errors["is_sandbox"] = (
                "a sandbox client must be bound to a sandbox profile, and a live one to a live one"
            )
        if errors:
            raise ValidationError(errors)


class IdempotencyRecord(models.Model):
    """One Idempotency-Key of one application: the request's fingerprint and the response to
    replay.

    Inserted in the same transaction as the effects it describes, so a row exists only for a
    request that ran to a stored outcome. While a request runs, its key is held by a
    PostgreSQL advisory lock, not by a row: a crash releases it with the connection and leaves
    nothing behind. Rows are purged after API_IDEMPOTENCY_TTL_HOURS.
    """

    # No index of its own: the unique (application, key) index serves lookups by application.
    # A second, application-only index would be chosen by plans made while the table is small
    # and then scan every key of the application on each request as the table grows.
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    request_id = models.CharField(max_length=64, blank=True)
    response_status = models.PositiveSmallIntegerField()
    response_headers = models.JSONField(default=dict, blank=True)
    # Encrypted at rest: a stored response can hold a secret shown once (a webhook
    # endpoint's whsec_ key) or a customer's details, and is kept for a day or more.
    response_body = EncryptedTextField(blank=True, null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "key"], name="idempotency_unique_application_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.response_status})"


class ApiRequestLog(models.Model):
    """One row per API request; queued in Redis by the request and written here in bulk by
    `api.request_log_drain` (see fintech/api/request_log.py)."""

    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    status = models.PositiveSmallIntegerField(db_index=True)
    latency_ms = models.PositiveIntegerField()
    request_id = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API request"

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"
