"""Integrations' own records: webhook subscriptions and their delivery log, the inbound
webhook log, and each partner connector's state. Core tables are never written from here:
integrations calls fintech services for that."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
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
            # The dashboard counts deliveries that wait or gave up; succeeded ones (nearly all
            # of them) stay out of this index.
            models.Index(
                fields=["status", "created_at"],
                name="webhook_delivery_open_idx",
                condition=~models.Q(status="succeeded"),
            ),
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
            ),
            # The dashboard's failed inbound events per provider.
            models.Index(
                fields=["provider", "received_at"],
                name="inbound_webhook_failed_idx",
                condition=models.Q(status="failed"),
            ),
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
        # The dashboard's health row: rows waiting or refused (any age) and the last week's.
        indexes = [
            models.Index(fields=["status", "created_at"], name="payout_status_created_idx"),
            models.Index(fields=["created_at"], name="payout_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.partner} payout of {self.transfer_reference} ({self.status})"


class PayoutRecall(PartnerRequest):
    """Our recall (or trace) request for a disputed payout: one per dispute and partner. The
    partner's answer arrives as a webhook and puts the dispute under review."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending submission"
        SENT = "sent", "Sent, waiting for the partner's answer"
        ANSWERED = "answered", "Answered"
        ERROR = "error", "Refused by the partner (permanent)"

    partner = models.CharField(max_length=50)
    dispute_id = models.BigIntegerField()
    transfer_reference = models.CharField(max_length=40)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    answer = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "dispute_id"], name="payout_recall_once")
        ]

    def __str__(self) -> str:
        return f"{self.partner} recall of {self.transfer_reference} ({self.status})"


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
        indexes = [
            models.Index(fields=["status", "created_at"], name="kyc_status_created_idx"),
            models.Index(fields=["created_at"], name="kyc_created_idx"),
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


class SandboxTenant(models.Model):
    """A sandbox's tenant (Xero's org, Intuit's company) and the faults and limits it shows;
    null limits fall back to the sandbox's settings."""

    latency_ms = models.PositiveIntegerField(default=0)
    error_429_percent = models.PositiveSmallIntegerField(default=0)
    error_5xx_percent = models.PositiveSmallIntegerField(default=0)
    rate_per_minute = models.PositiveIntegerField(null=True, blank=True)
    concurrent_limit = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SandboxGrant(models.Model):
    """A sandbox identity server's authorization code, refresh token or access token; only
    its hash is kept. Codes and refresh tokens are single-use (`used_at`)."""

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
        abstract = True

    def __str__(self) -> str:
        return f"{self.kind} for {self.client_id}"


class SandboxWebhook(SimulatorStep):
    """A webhook a sandbox owes the app: its exact body, signed and sent by a task at
    `next_step_at`; not acknowledged, it is sent again with a growing delay, up to a limit."""

    url = models.URLField(max_length=2000)
    body = models.TextField()
    attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

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
    # A recall or trace asked for by the client (one per payout): its reference and kind.
    recall_reference = models.CharField(max_length=100, blank=True)
    recall_type = models.CharField(max_length=10, blank=True)
    recall_reason = models.CharField(max_length=20, blank=True)
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


class XeroSandboxOrg(SandboxTenant):
    """A Xero organisation (a tenant) in the sandbox, with the faults and limits it shows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)  # Xero's tenantId
    name = models.CharField(max_length=200)
    short_code = models.CharField(max_length=20)
    base_currency = models.CharField(max_length=3, default="GBP")
    # Enabled currencies, the base one included (Xero's multi-currency).
    currencies = models.JSONField(default=list)
    # Steering (control endpoint, SandboxTenant's too); null: XERO_SANDBOX_RATE_PER_DAY.
    rate_per_day = models.PositiveIntegerField(null=True, blank=True)
    # Webhooks also for the changes an app makes over the API (real Xero sends them too).
    webhooks_on_api_changes = models.BooleanField(default=False)
    # The last webhook event sequence number given out.
    event_sequence = models.PositiveBigIntegerField(default=0)

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


class XeroSandboxGrant(SandboxGrant):
    """A Xero authorization code, refresh token or access token (SandboxGrant)."""

    class Meta:
        indexes = [models.Index(fields=["client_id", "kind"], name="xero_sandbox_grant_idx")]


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


class XeroSandboxWebhook(SandboxWebhook):
    """A webhook the Xero sandbox owes the app (SandboxWebhook)."""

    org = models.ForeignKey(XeroSandboxOrg, on_delete=models.CASCADE)

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


# --- the QuickBooks Online sandbox (integrations/simulators/quickbooks) ----------------------


class QuickBooksSandboxCompany(SandboxTenant):
    """A QuickBooks Online company (a realm) in the sandbox, with the faults and limits it
    shows and what it sends webhooks for."""

    class WebhookFormat(models.TextChoices):
        CLASSIC = "classic", "eventNotifications"
        CLOUDEVENTS = "cloudevents", "CloudEvents"

    realm_id = models.CharField(primary_key=True, max_length=20)  # numeric, as Intuit's
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, default="GB")
    home_currency = models.CharField(max_length=3, default="GBP")
    multi_currency = models.BooleanField(default=True)
    # Steering (control endpoint, SandboxTenant's too). Refreshes of this company's tokens
    # answer invalid_grant (the connector's reconnect_required).
    refuse_refresh = models.BooleanField(default=False)
    webhooks_on = models.BooleanField(default=True)
    webhook_format = models.CharField(
        max_length=20, choices=WebhookFormat.choices, default=WebhookFormat.CLASSIC
    )
    # The last entity Id given out (QuickBooks Ids are numbers, per company).
    last_id = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "QuickBooks sandbox companies"

    def __str__(self) -> str:
        return f"sandbox QuickBooks company {self.name} ({self.realm_id})"


class QuickBooksSandboxGrant(SandboxGrant):
    """An Intuit authorization code, refresh token or access token (SandboxGrant), for one
    company. A spent refresh token names its successor for a short grace (a racing refresh
    with the same token gets the same successor, as Intuit answers)."""

    company = models.ForeignKey(QuickBooksSandboxCompany, on_delete=models.CASCADE)
    # The refresh token that replaced this one, kept only for the grace after its use.
    successor = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["client_id", "kind"], name="qbo_sandbox_grant_idx")]


class QuickBooksSandboxObject(models.Model):
    """One QuickBooks entity (Customer, Bill, JournalEntry, ...) as the API answers it
    (`data`, Intuit's JSON); `deleted` ones answer only Change Data Capture."""

    company = models.ForeignKey(QuickBooksSandboxCompany, on_delete=models.CASCADE)
    entity = models.CharField(max_length=40)
    object_id = models.CharField(max_length=20)
    sync_token = models.PositiveIntegerField(default=0)
    data = models.JSONField(default=dict)
    deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "entity", "object_id"], name="qbo_sandbox_obj_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["company", "entity", "updated_at"], name="qbo_sandbox_obj_idx")
        ]

    def __str__(self) -> str:
        return f"sandbox QuickBooks {self.entity} {self.object_id}"


class QuickBooksSandboxRequest(models.Model):
    """A write's `requestid`: its first answer, replayed for the same id in the same company
    (Intuit answers a repeated requestid with the original response)."""

    company = models.ForeignKey(QuickBooksSandboxCompany, on_delete=models.CASCADE)
    request_id = models.CharField(max_length=50)
    status_code = models.PositiveSmallIntegerField()
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "request_id"], name="qbo_sandbox_req_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.company_id} requestid {self.request_id}"


class QuickBooksSandboxWebhook(SandboxWebhook):
    """A webhook the QuickBooks sandbox owes the app (SandboxWebhook)."""

    company = models.ForeignKey(QuickBooksSandboxCompany, on_delete=models.CASCADE)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_step_at"],
                name="qbo_sandbox_hook_step_idx",
                condition=models.Q(next_step_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"sandbox QuickBooks webhook {self.pk}"


# --- the CRM sandbox (integrations/simulators/crm) ------------------------------------------


class CrmSandboxPortal(models.Model):
    """A HubSpot portal (hub) in the CRM sandbox: its owners, custom properties, limits and
    the faults it shows on demand (integrations/simulators/crm/, docs/crm.md)."""

    id = models.BigAutoField(primary_key=True)  # HubSpot's portalId / hub_id
    name = models.CharField(max_length=200)
    # A private app's token (only its hash); empty: none issued.
    private_app_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    owners = models.JSONField(default=list, blank=True)  # [{id, email, firstName, lastName}]
    # Object type -> property name -> its definition (custom and a few built-in ones).
    properties = models.JSONField(default=dict, blank=True)
    # Steering (control endpoint); null limits fall back to the CRM_SANDBOX_* settings.
    rate_per_10s = models.PositiveIntegerField(null=True, blank=True)
    rate_per_day = models.PositiveIntegerField(null=True, blank=True)
    window_started_at = models.DateTimeField(null=True, blank=True)
    window_calls = models.PositiveIntegerField(default=0)
    day_started_at = models.DateTimeField(null=True, blank=True)
    day_calls = models.PositiveIntegerField(default=0)
    # The next `fault_remaining` API calls answer `fault_status` (429 or 5xx); refuse property
    # creation with `refuse_properties` (a portal without the schema scope, say).
    fault_status = models.PositiveSmallIntegerField(default=0)
    fault_remaining = models.PositiveIntegerField(default=0)
    refuse_properties = models.BooleanField(default=False)
    # Every API call answers this much later, after doing its work (a worker killed while it
    # waits has had its change made, its answer lost).
    latency_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sandbox CRM portal {self.pk} {self.name}"


class CrmSandboxGrant(SandboxGrant):
    """A HubSpot authorization code, refresh token or access token (SandboxGrant), for one
    portal. HubSpot's refresh tokens do not rotate: a refresh grant is used again and again."""

    portal = models.ForeignKey(CrmSandboxPortal, on_delete=models.CASCADE)

    class Meta:
        indexes = [models.Index(fields=["client_id", "kind"], name="crm_sandbox_grant_idx")]

    def __str__(self) -> str:
        return f"{self.kind} for portal {self.portal_id}"


class CrmSandboxObject(models.Model):
    """A company, contact or note in a sandbox portal, as HubSpot's v3 API answers it."""

    id = models.BigAutoField(primary_key=True)  # HubSpot's object id
    portal = models.ForeignKey(
        CrmSandboxPortal, on_delete=models.CASCADE, related_name="crm_objects"
    )
    object_type = models.CharField(max_length=20)  # companies, contacts, notes
    properties = models.JSONField(default=dict)
    # [{"toObjectType": "companies", "toId": "12", "associationTypeId": 279}]
    associations = models.JSONField(default=list, blank=True)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["portal", "object_type"], name="crm_sandbox_obj_idx")]

    def __str__(self) -> str:
        return f"sandbox CRM {self.object_type} {self.pk}"


class CrmSandboxRequest(models.Model):
    """Every body the sandbox received (what the CRM would hold): tests scan these."""

    portal = models.ForeignKey(CrmSandboxPortal, null=True, on_delete=models.CASCADE)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    body = models.TextField(blank=True)
    status = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"


class CrmSandboxWebhook(SandboxWebhook):
    """A webhook the CRM sandbox owes the app, signed (v3) when sent at `next_step_at`."""

    portal = models.ForeignKey(CrmSandboxPortal, on_delete=models.CASCADE)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_step_at"],
                name="crm_sandbox_hook_step_idx",
                condition=models.Q(next_step_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"sandbox CRM webhook {self.pk}"


class IntegrationHealth(WebhookDelivery):
    """No table of its own: the admin's "Integration health" page (integrations/admin.py)
    hangs on it, so the page sits under Integrations and has a view permission that the
    engineering and admin roles hold."""

    class Meta:
        proxy = True
        verbose_name = "integration health"
        verbose_name_plural = "integration health"
        default_permissions = ("view",)


class ExceptionItem(models.Model):
    """One thing that needs a human, from any source (the exception inbox, integrations/inbox/).

    Kept in step with its source by a scan (integrations/inbox/scan.py): a problem found opens
    an item once, a source fixed resolves it. Operators assign, snooze (until a time, with a
    reason) and resolve it with a note; each is audited. The source row stays the truth: the
    item only points at it (`source`, `source_id`) and says how bad and how old it is."""

    class Source(models.TextChoices):
        SYNC_JOB = "sync_job", "Failed sync"
        SYNC_MISMATCH = "sync_mismatch", "Sync mismatch"
        WEBHOOK_DELIVERY = "webhook_delivery", "Dead webhook delivery"
        INBOUND_WEBHOOK = "inbound_webhook", "Failed inbound webhook"
        TRANSFER_STUCK = "transfer_stuck", "Transfer past its SLA"
        COMPLIANCE_REVIEW = "compliance_review", "Compliance review"
        PAYMENT_HELD = "payment_held", "Held payment request"
        RECON_MISMATCH = "recon_mismatch", "Reconciliation mismatch"
        CONNECTION = "connection", "Reconnect required (token refresh failed)"
        DEAD_LETTER = "dead_letter", "Dead letter"
        DISPUTE_DUE = "dispute_due", "Dispute past its deadline"
        COMPLIANCE_CASE = "compliance_case", "Compliance case open"
        SCREENING_HIT = "screening_hit", "Screening hit not in a case"

    class Severity(models.IntegerChoices):
        LOW = 1, "Low"
        MEDIUM = 2, "Medium"
        HIGH = 3, "High"

    source = models.CharField(max_length=40, choices=Source.choices)
    source_id = models.CharField(max_length=100)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    title = models.CharField(max_length=300)
    # When the problem began at the source (the item's age), and when the scan found it.
    opened_at = models.DateTimeField()
    detected_at = models.DateTimeField(default=timezone.now)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snooze_reason = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Null with a resolved_at: the scan found the source fixed.
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution_note = models.TextField(blank=True)

    class Meta:
        verbose_name = "exception"
        verbose_name_plural = "exception inbox"
        ordering = ["-severity", "opened_at", "id"]
        constraints = [
            # One open item per source row: the scan's INSERT ... ON CONFLICT relies on it.
            models.UniqueConstraint(
                fields=["source", "source_id"],
                condition=models.Q(resolved_at__isnull=True),
                name="exception_item_open_once",
            )
        ]
        indexes = [
            # The inbox and the dashboard's counts read open items by source and severity.
            models.Index(
                fields=["source", "severity", "opened_at"],
                condition=models.Q(resolved_at__isnull=True),
                name="exception_item_open_idx",
            ),
            # "Was this problem already resolved by a person?" (the scan's NOT EXISTS).
            models.Index(fields=["source", "source_id", "resolved_at"], name="exception_item_ref"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()}: {self.title}"


# The sync engine's tables live beside the engine, and the bank statements for
# reconciliation beside their parsers; importing them here registers them.
from integrations.reconciliation.models import (  # noqa: E402, F401
    BankAccount,
    BankStatement,
    Mismatch,
    PeriodClose,
    ReconMatch,
    ReconMatchItem,
    ReconRun,
    StatementLine,
    SuggestedFunding,
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
