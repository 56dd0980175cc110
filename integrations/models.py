"""Integrations' own records: webhook subscriptions and their delivery log, the inbound
webhook log, and each partner connector's state. Core tables are never written from here:
integrations calls fintech services for that."""

from __future__ import annotations

import uuid

from django.db import models
from encrypted_fields.fields import EncryptedCharField

from fintech.customers.models import Profile


class WebhookEndpoint(models.Model):
    """A customer's subscription: where to POST which events, signed with its secret."""

    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="+")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # Empty list: every event type.
    event_types = models.JSONField(default=list, blank=True)
    # `whsec_...`, encrypted at rest (Fernet, key rotation by FIELD_ENCRYPTION_KEYS).
    secret = EncryptedCharField(max_length=200)
    # During a rotation the old secret signs too (both signatures sent) until it expires.
    previous_secret = EncryptedCharField(max_length=200, blank=True, null=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Consecutive failed attempts, and when the current run of failures began.
    failure_streak = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["profile", "is_enabled"])]

    def __str__(self) -> str:
        return f"{self.url} ({self.profile_id})"

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    """One event for one endpoint. `webhook_id` (the Standard Webhooks `webhook-id`) is stable
    across every retry so the receiver can deduplicate; the payload is a snapshot."""

    # A delivery parked as a dead letter is filed under this source, its id the reference.
    DEAD_LETTER_SOURCE = "integrations.webhook_delivery"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (endpoint disabled or refused)"
        EXHAUSTED = "exhausted", "Exhausted (retries used up)"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    event_id = models.UUIDField(help_text="the outbox event (or a test event) delivered")
    webhook_id = models.CharField(max_length=100, help_text="the webhook-id header, stable")
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim: nobody else attempts it before this time (a dead worker's claim lapses).
    locked_until = models.DateTimeField(null=True, blank=True)
    # Last time a task was published for it: the scanner publishes again only after a lease.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The relay may hand an event out twice (at least once); it is delivered once.
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="webhook_delivery_once_per_endpoint"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due_idx",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """Evidence of one HTTP attempt: what we sent when, what came back, how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_number")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class InboundWebhook(models.Model):
    """Every message a provider sent us, verified or not, stored raw before anything is done."""

    # A message parked as a dead letter is filed under this source.
    DEAD_LETTER_SOURCE = "integrations.inbound"

    class Verdict(models.TextChoices):
        VALID = "valid", "Valid"
        MISSING = "missing", "Signature missing"
        INVALID = "invalid", "Signature invalid"
        STALE = "stale", "Timestamp outside tolerance"
        UNKNOWN_PROVIDER = "unknown_provider", "Unknown provider"

    class Status(models.TextChoices):
        REJECTED = "rejected", "Rejected (not processed)"
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (stale or already applied)"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.CharField(max_length=50, db_index=True)
    provider_event_id = models.CharField(max_length=200, blank=True)
    event_type = models.CharField(max_length=100, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    signature_verdict = models.CharField(max_length=20, choices=Verdict.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    error = models.CharField(max_length=1000, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    # Last time a task was published for it: the scanner publishes again only after a lease.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # Stored once: a provider's retry or a replay of the same event is a duplicate.
            models.UniqueConstraint(
                fields=["provider", "provider_event_id"],
                name="inbound_webhook_once",
                condition=models.Q(signature_verdict="valid") & ~models.Q(provider_event_id=""),
            )
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                name="inbound_webhook_todo_idx",
                condition=models.Q(status__in=["received", "processing"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type or '?'} {self.provider_event_id}"


class PartnerRequest(models.Model):
    """What every call to a partner keeps: its id there, retries, the claim lease, the last
    status applied (older ones are ignored: partners' webhooks arrive out of order)."""

    external_id = models.CharField(max_length=100, blank=True, db_index=True)
    # The partner's occurred-at of the last status applied: older ones are ignored.
    last_status_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    # Last time a task was published for it: the scanner publishes again only after a lease.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]


class PayoutInstruction(PartnerRequest):
    """Our side of one payout at a partner: one per transfer and partner."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending submission"
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"
        SENT = "sent", "Sent (paid out)"
        FAILED = "failed", "Failed"
        RETURNED = "returned", "Returned"
        ERROR = "error", "Submission refused (permanent)"

    partner = models.CharField(max_length=50)
    transfer_id = models.BigIntegerField()
    transfer_reference = models.CharField(max_length=40)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "transfer_id"], name="payout_once")
        ]

    def __str__(self) -> str:
        return f"{self.partner} payout of {self.transfer_reference} ({self.status})"


class KycCheck(PartnerRequest):
    """Our side of one identity check at a KYC provider."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending creation"
        CREATED = "created", "Created at the provider"
        CLEAR = "clear", "Completed: clear"
        CONSIDER = "consider", "Completed: consider (review)"
        ERROR = "error", "Creation refused (permanent)"

    provider = models.CharField(max_length=50)
    profile_id = models.BigIntegerField()
    # The compliance.submitted event that asked for it (one check per submission).
    event_id = models.UUIDField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="kyc_check_once")
        ]

    def __str__(self) -> str:
        return f"{self.provider} check for profile {self.profile_id} ({self.status})"


# --- the partners' side: state of the sandbox simulators served by this project -------------


class SimulatorStep(models.Model):
    """A simulator's next step as a row, not a delayed task: `next_step_at` (empty when
    nothing is left to do) is found by the beat scanner and the step claimed (`locked_until`)
    before it runs, so a lost message or a killed worker delays it by a lease at most and two
    copies of a message take one step."""

    next_step_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    # Last time a task was published for it: the scanner publishes again only after a lease.
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class SandboxPayout(SimulatorStep):
    """The payout partner simulator's own record of a payout it was asked to make."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        ACCEPTED = "accepted", "Accepted"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        RETURNED = "returned", "Returned"

    id = models.CharField(primary_key=True, max_length=40)
    client_reference = models.CharField(max_length=100, unique=True)
    amount = models.CharField(max_length=40)
    currency = models.CharField(max_length=3)
    beneficiary_name = models.CharField(max_length=200, blank=True)
    callback_url = models.URLField(max_length=2000)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    # Decided when the payout arrives: the statuses it will go through.
    plan = models.JSONField(default=list)
    webhooks_sent = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_step_at"],
                name="sandbox_payout_step_idx",
                condition=models.Q(next_step_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"sandbox payout {self.id} ({self.status})"


class SandboxKycCheck(SimulatorStep):
    """The KYC provider simulator's own record of a check."""

    class Status(models.TextChoices):
        CREATED = "created", "Created"
        COMPLETED = "completed", "Completed"

    id = models.CharField(primary_key=True, max_length=40)
    client_reference = models.CharField(max_length=100, unique=True)
    subject_name = models.CharField(max_length=200, blank=True)
    callback_url = models.URLField(max_length=2000)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CREATED)
    result = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_step_at"],
                name="sandbox_kyc_step_idx",
                condition=models.Q(next_step_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"sandbox check {self.id} ({self.status} {self.result})"


# --- the Xero sandbox (integrations/simulators/xero) --------------------------------------


class XeroSandboxOrg(models.Model):
    """A Xero organisation (a tenant) in the sandbox, with the faults and limits it shows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)  # Xero's tenantId
    name = models.CharField(max_length=200)
    short_code = models.CharField(max_length=20)
    base_currency = models.CharField(max_length=3, default="GBP")
    # Enabled currencies, the base one included (Xero's multi-currency).
    currencies = models.JSONField(default=list)
    # Steering (control endpoint); null limits fall back to the XERO_SANDBOX_* settings.
    latency_ms = models.PositiveIntegerField(default=0)
    error_429_percent = models.PositiveSmallIntegerField(default=0)
    error_5xx_percent = models.PositiveSmallIntegerField(default=0)
    rate_per_minute = models.PositiveIntegerField(null=True, blank=True)
    rate_per_day = models.PositiveIntegerField(null=True, blank=True)
    concurrent_limit = models.PositiveIntegerField(null=True, blank=True)
    # Webhooks also for the changes an app makes over the API (real Xero sends them too).
    webhooks_on_api_changes = models.BooleanField(default=False)
    # The last webhook event sequence number given out.
    event_sequence = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"sandbox Xero org {self.name}"


class XeroSandboxConnection(models.Model):
    """An app's connection to an org (Xero's /connections entry)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    org = models.ForeignKey(XeroSandboxOrg, on_delete=models.CASCADE, related_name="connections")
    client_id = models.CharField(max_length=100)
    # Shared by the connections one authorization made (Xero's authEventId).
    auth_event_id = models.UUIDField(default=uuid.uuid4)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "client_id"], name="xero_sandbox_conn_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.client_id} -> {self.org_id}"


class XeroSandboxGrant(models.Model):
    """An authorization code, a refresh token or an access token; only its hash is kept.
    Codes and refresh tokens are single-use (`used_at`)."""

    class Kind(models.TextChoices):
        CODE = "code", "Authorization code"
        ACCESS = "access", "Access token"
        REFRESH = "refresh", "Refresh token"

    token_hash = models.CharField(primary_key=True, max_length=64)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    client_id = models.CharField(max_length=100)
    scope = models.CharField(max_length=1000, blank=True)
    redirect_uri = models.CharField(max_length=2000, blank=True)
    code_challenge = models.CharField(max_length=200, blank=True)
    # Every token descended from one authorization (revoked together).
    family = models.UUIDField(default=uuid.uuid4)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["client_id", "kind"], name="xero_sandbox_grant_idx")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.client_id}"


class XeroSandboxObject(models.Model):
    """One Xero object (Account, Contact, Invoice, CreditNote, BankTransaction, Payment,
    ManualJournal) as the API answers it (`data`, in Xero's JSON form)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    org = models.ForeignKey(XeroSandboxOrg, on_delete=models.CASCADE, related_name="xero_objects")
    kind = models.CharField(max_length=30)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["org", "kind"], name="xero_sandbox_obj_kind_idx")]

    def __str__(self) -> str:
        return f"sandbox Xero {self.kind} {self.id}"


class XeroSandboxIdempotency(models.Model):
    """A write's Idempotency-Key: the first request's hash and answer, replayed for the same
    key (a different body with the same key is refused)."""

    org = models.ForeignKey(XeroSandboxOrg, on_delete=models.CASCADE)
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # null: in flight
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "key"], name="xero_sandbox_idem_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.org_id} {self.key}"


class XeroSandboxWebhook(SimulatorStep):
    """A webhook the sandbox owes the app: its exact body, signed and sent by a task at
    `next_step_at`; not acknowledged, it is sent again with a growing delay, up to a limit."""

    org = models.ForeignKey(XeroSandboxOrg, on_delete=models.CASCADE)
    url = models.URLField(max_length=2000)
    body = models.TextField()
    attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_step_at"],
                name="xero_sandbox_hook_step_idx",
                condition=models.Q(next_step_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"sandbox Xero webhook {self.pk}"


class IntegrationHealth(WebhookDelivery):
    """No table of its own: the admin's "Integration health" page (integrations/admin.py)
    hangs on it, so the page sits under Integrations and has a view permission that the
    engineering and admin roles hold."""

    class Meta:
        proxy = True
        verbose_name = "integration health"
        verbose_name_plural = "integration health"
        default_permissions = ("view",)


# The sync engine's tables live beside the engine, and the bank statements for
# reconciliation beside their parsers; importing them here registers them.
from integrations.reconciliation.models import (  # noqa: E402, F401
    BankAccount,
    BankStatement,
    StatementLine,
)
from integrations.sync.models import (  # noqa: E402, F401
    AccountingConnection,
    AccountMapping,
    Connection,
    ExternalAccount,
    OAuthAuthorization,
    SyncJob,
    SyncMismatch,
)
