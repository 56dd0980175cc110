"""The sync engine's tables, shared by accounting, ERP and CRM connectors.

- `Connection`: one external system's account (a Xero organisation, say) connected for the
  platform's own books or for one business profile's books; OAuth tokens encrypted at rest;
  the call budget the provider allows (counted here, in the database, so every worker sees it).
- `AccountMapping` / `ExternalAccount`: which of their accounts receives what, checked against
  their chart of accounts (fetched and cached).
- `SyncJob`: one (connection, local object, action): the state machine the engine drives.
- `SyncMismatch`: something the external system says that contradicts what we synced, or a
  failed transfer an operator should know about. Never resolved silently.

Imported by integrations/models.py so Django registers them with the `integrations` app.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import FSMField, transition
from encrypted_fields.fields import EncryptedTextField

from fintech.customers.models import Profile


class Connection(models.Model):
    class Kind(models.TextChoices):
        ACCOUNTING = "accounting", "Accounting"
        CRM = "crm", "CRM"
        ERP = "erp", "ERP"

    class Owner(models.TextChoices):
        PLATFORM = "platform", "Platform's own books"
        PROFILE = "profile", "A business customer's books"

    class Status(models.TextChoices):
        AUTHORIZING = "authorizing", "Authorizing"  # the OAuth dance has started
        SELECT_TENANT = "select_tenant", "Choose an organisation"
        ACTIVE = "active", "Active"
        RECONNECT_REQUIRED = "reconnect_required", "Reconnect required"
        DISCONNECTED = "disconnected", "Disconnected"

    class Mode(models.TextChoices):
        PER_OBJECT = "per_object", "Each object (contacts, invoices, payments)"
        DAILY_JOURNAL = "daily_journal", "One journal per day and currency"

    provider = models.CharField(max_length=30, db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.ACCOUNTING)
    owner = models.CharField(max_length=10, choices=Owner.choices)
    profile = models.ForeignKey(
        Profile, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.AUTHORIZING, db_index=True
    )
    status_reason = models.TextField(blank=True)
    mode = models.CharField(max_length=15, choices=Mode.choices, default=Mode.PER_OBJECT)
    # The external organisation (Xero tenant, QuickBooks realm, CRM portal).
    tenant_id = models.CharField(max_length=100, blank=True)
    tenant_name = models.CharField(max_length=200, blank=True)
    available_tenants = models.JSONField(default=list, blank=True)
    base_currency = models.CharField(max_length=3, blank=True)
    currencies = models.JSONField(default=list, blank=True)
    # Tokens: encrypted like bank details; never shown, never logged. Nullable because the
    # encrypted field stores an empty value as NULL (read back as None: "no token").
    access_token = EncryptedTextField(blank=True, null=True, default="")
    refresh_token = EncryptedTextField(blank=True, null=True, default="")
    token_expires_at = models.DateTimeField(null=True, blank=True)
    scope = models.TextField(blank=True)
    token_refreshed_at = models.DateTimeField(null=True, blank=True)
    # Tax and tracking applied to every line we post (empty: none).
    tax_type = models.CharField(max_length=50, blank=True)
    tracking = models.JSONField(default=list, blank=True)
    # The provider's limits, counted here so every worker sees the same budget.
    # Calls allowed per short window (`calls_window_seconds`: 60 at Xero, 10 at HubSpot).
    calls_per_minute = models.PositiveIntegerField(default=60)
    calls_window_seconds = models.PositiveIntegerField(default=60)
    calls_per_day = models.PositiveIntegerField(default=5000)
    max_concurrent = models.PositiveSmallIntegerField(default=5)
    minute_started_at = models.DateTimeField(null=True, blank=True)
    minute_calls = models.PositiveIntegerField(default=0)
    day_started_at = models.DateTimeField(null=True, blank=True)
    day_calls = models.PositiveIntegerField(default=0)
    blocked_until = models.DateTimeField(null=True, blank=True)  # a 429's Retry-After
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    accounts_fetched_at = models.DateTimeField(null=True, blank=True)
    # Daily-journal mode: the last day whose journals were queued.
    journaled_through = models.DateField(null=True, blank=True)
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="connection_owner_matches_profile",
                condition=(Q(owner="platform", profile__isnull=True))
                | (Q(owner="profile", profile__isnull=False)),
            ),
            # One live connection per provider for the platform and per profile.
            models.UniqueConstraint(
                fields=["provider", "owner", "profile"],
                condition=~Q(status="disconnected"),
                nulls_distinct=False,
                name="connection_one_live_per_owner",
            ),
        ]

    def __str__(self) -> str:
        whose = "platform" if self.owner == self.Owner.PLATFORM else f"profile {self.profile_id}"
        return f"{self.provider} ({whose}) {self.tenant_name or self.tenant_id or ''}".strip()

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class AccountingConnection(Connection):
    """The accounting connections (Xero, QuickBooks): the admin's view of them."""

    class Meta:
        proxy = True
        verbose_name = "accounting connection"


class CrmConnection(Connection):
    """The CRM connections (HubSpot): the admin's view of them, beside accounting's."""

    class Meta:
        proxy = True
        verbose_name = "CRM connection"


class OAuthAuthorization(models.Model):
    """One authorization-code dance in progress: the state we sent, the PKCE verifier."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=100, unique=True)
    code_verifier = EncryptedTextField()
    redirect_uri = models.URLField(max_length=500)
    return_to = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"authorization of connection {self.connection_id}"


class ExternalAccount(models.Model):
    """Their chart of accounts, as last fetched."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="accounts")
    external_id = models.CharField(max_length=100)
    code = models.CharField(max_length=50, blank=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=50, blank=True)
    account_class = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=30, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "external_id"], name="external_account_once"
            )
        ]
        ordering = ["code", "name"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()


class AccountMapping(models.Model):
    """Role (fee revenue, client money, ...) -> the external account code that receives it."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="mappings")
    role = models.CharField(max_length=40)
    account_code = models.CharField(max_length=50)
    updated_by = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "role"], name="account_mapping_once")
        ]

    def __str__(self) -> str:
        return f"{self.role} -> {self.account_code}"


class SyncJob(models.Model):
    """One (connection, local object, action). The engine (integrations/sync/services.py)
    claims it with a conditional UPDATE (pending|retry_scheduled -> in_flight) and finishes it
    with the transitions below; operators retry or skip it."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_FLIGHT = "in_flight", "In flight"
        SYNCED = "synced", "Synced"
        FAILED = "failed", "Failed"
        RETRY_SCHEDULED = "retry_scheduled", "Retry scheduled"
        DEAD = "dead", "Dead"
        SKIPPED = "skipped", "Skipped"

    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="jobs")
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=100)
    action = models.CharField(max_length=40)
    state = FSMField(default=State.PENDING, choices=State.choices, protected=True)
    # Runs only once this one is synced (a payment needs its invoice's id).
    depends_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="dependents"
    )
    event_id = models.UUIDField(null=True, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True)
    external_id = models.CharField(max_length=100, blank=True, db_index=True)
    external_version = models.CharField(max_length=100, blank=True)
    external_number = models.CharField(max_length=100, blank=True)
    # What we told them (total, currency, status): compared with what they say later.
    external_summary = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error_class = models.CharField(max_length=100, blank=True, db_index=True)
    last_error = models.TextField(blank=True)
    note = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "object_type", "object_id", "action"], name="sync_job_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "retry_scheduled"]),
                name="sync_job_due",
            ),
            models.Index(fields=["object_type", "object_id"], name="sync_job_object"),
            models.Index(fields=["connection", "state"], name="sync_job_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id}"

    # Transitions only set state; the engine's services do the rest (locks, counters, audit).
    @transition(field=state, source=State.IN_FLIGHT, target=State.SYNCED)
    def succeed(self) -> None:
        self.synced_at = timezone.now()

    @transition(field=state, source=State.IN_FLIGHT, target=State.FAILED)
    def fail(self) -> None:
        pass

    @transition(field=state, source=State.IN_FLIGHT, target=State.RETRY_SCHEDULED)
    def schedule_retry(self) -> None:
        pass

    @transition(field=state, source=State.IN_FLIGHT, target=State.DEAD)
    def give_up(self) -> None:
        pass

    @transition(field=state, source=State.IN_FLIGHT, target=State.PENDING)
    def put_back(self) -> None:
        """Not attempted (paused connection, a prerequisite not synced): no attempt spent."""

    @transition(
        field=state,
        source=[State.PENDING, State.FAILED, State.RETRY_SCHEDULED, State.DEAD],
        target=State.SKIPPED,
    )
    def skip(self) -> None:
        pass

    @transition(
        field=state,
        source=[State.FAILED, State.DEAD, State.SKIPPED, State.RETRY_SCHEDULED],
        target=State.PENDING,
    )
    def retry(self) -> None:
        self.next_attempt_at = timezone.now()


class SyncMismatch(models.Model):
    """A difference for operators: never resolved by overwriting either side."""

    class Kind(models.TextChoices):
        EXTERNAL_CHANGED = "external_changed", "Changed in the external system"
        EXTERNAL_DELETED = "external_deleted", "Deleted or voided in the external system"
        MISSING = "missing", "Missing in the external system"
        AMOUNT = "amount", "Amount differs"
        TRANSFER_FAILED = "transfer_failed", "Transfer failed (nothing posted)"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="mismatches")
    job = models.ForeignKey(
        SyncJob, null=True, blank=True, on_delete=models.PROTECT, related_name="mismatches"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    detail = models.TextField()
    ours = models.JSONField(default=dict, blank=True)
    theirs = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    resolved_by = models.CharField(max_length=200, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "sync mismatches"
        constraints = [
            # One open mismatch per (connection, kind, object): a webhook repeated adds nothing.
            models.UniqueConstraint(
                fields=["connection", "kind", "object_type", "object_id", "external_id"],
                condition=Q(status="open"),
                name="sync_mismatch_open_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.object_type} {self.object_id}"


__all__ = [
    "AccountMapping",
    "AccountingConnection",
    "Connection",
    "CrmConnection",
    "ExternalAccount",
    "OAuthAuthorization",
    "SyncJob",
    "SyncMismatch",
]
