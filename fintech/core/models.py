"""Cross-cutting records: the audit trail of business actions and the event outbox."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One business action: who did what to which object, why, from which request.

    Written by services in the same transaction as the change. Row-level history of
    the tracked tables (including bulk updates and raw SQL) is kept by pghistory
    triggers beside this.
    """

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200, help_text="user, application or system job")
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id} by {self.actor_label}"


class OutboxEvent(models.Model):
    """A business fact, written in the same transaction that made it; a relay publishes it.

    `pending` until what it causes (its webhook deliveries, connector rows) is committed, in
    the same transaction as those rows: then `dispatched`. A hand-out to the broker only
    stamps a lease (`dispatch_until`); if the message is lost, the lease lapses and the relay
    hands the event out again. An event whose dispatch fails `OUTBOX_DISPATCH_MAX_ATTEMPTS`
    times is parked `dead` with its last error for an operator."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DISPATCHED = "dispatched", "Dispatched (fanned out)"
        DEAD = "dead", "Dead (dispatch kept failing)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=100, db_index=True)
    version = models.PositiveSmallIntegerField(default=1)
    occurred_at = models.DateTimeField(db_index=True)
    profile_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # When its fan-out committed.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Hand-outs to the broker so far, and until when the last one is awaited: the relay hands
    # the event out again only after this lease lapses.
    dispatch_attempts = models.PositiveIntegerField(default=0)
    dispatch_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    # The request id of the API request or admin page (or of the task it caused) that made
    # the fact: the relay hands it to the dispatch, so one id finds everything a request did.
    request_id = models.CharField(max_length=64, blank=True, db_default="", default="")

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(
                fields=["occurred_at"],
                name="outbox_pending_idx",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class DeadLetter(models.Model):
    """A row a batch or drain could not process, set aside with its error so the rest flow.

    One table for every drain (the request log, inbound processing, webhook deliveries, the
    outbox relay, sync jobs): operators see what was parked, why, and mark it resolved with a
    note once handled. The payload is text with NUL bytes escaped (PostgreSQL refuses NUL in
    text, which is often why the row was parked in the first place).
    """

    source = models.CharField(max_length=100, help_text="e.g. api.request_log")
    reference = models.CharField(max_length=200, blank=True, help_text="the row's id or key")
    payload = models.TextField(blank=True)
    error_class = models.CharField(max_length=200)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["source", "-created_at"],
                name="dead_letter_open_idx",
                condition=models.Q(resolved_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.reference or '?'}: {self.error_class}"
