"""ERP payments: vendors (an ERP's suppliers, kept as beneficiaries), payment requests and
their batches, the customer's approval rules and the approvals given.

A payment request is a state machine (django-fsm-2, protected field):

```
received -> validated -> (awaiting_approval) -> quoted -> transfer_created -> funded
         -> processing -> completed | failed
received -> held (duplicate or screening trip) -> validated | rejected
received | held | awaiting_approval -> rejected ; awaiting_approval -> expired
any state before funded -> cancelled
```

Transitions only set state and timestamps. Services (fintech/payments/services/) lock the
row, run the transition, record it (PaymentRequestTransition), write the audit row and emit
`payment_request.<state>` into the outbox, in one transaction. The states after
transfer_created follow the transfer's own events (integrations/payments registers the
handler).
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from fintech.beneficiaries.models import Beneficiary
from fintech.customers.models import Profile
from fintech.quotes.models import Quote
from fintech.transfers.models import Transfer


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class Vendor(models.Model):
    """An ERP's supplier, keyed by (profile, the ERP's vendor id), paid through `beneficiary`.

    Bank details live on the beneficiary (encrypted, never edited): a bank-detail change makes
    a new beneficiary, deactivates the old one and sets `needs_approval`, so the next payment
    to the vendor waits for a second person's approval (fintech/payments/services/vendors.py).
    """

    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="erp_vendors")
    erp_vendor_id = models.CharField(max_length=100)
    name = models.CharField(max_length=140)
    beneficiary = models.ForeignKey(
        Beneficiary, on_delete=models.PROTECT, related_name="erp_vendors"
    )
    is_active = models.BooleanField(default=True, db_index=True)
    # New or changed bank details: no payment to this vendor without a second approval.
    needs_approval = models.BooleanField(default=True)
    approval_reason = models.CharField(max_length=40, blank=True)
    bank_details_changed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["profile_id", "erp_vendor_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "erp_vendor_id"], name="vendor_unique_profile_erp_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.erp_vendor_id} {self.name}"


class ApprovalPolicy(models.Model):
    """A profile's own approval rules for ERP payments (none: the defaults in settings)."""

    profile = models.OneToOneField(
        Profile, on_delete=models.CASCADE, related_name="erp_approval_policy"
    )
    # Requests whose source amount is at or above this (in the source currency's minor units,
    # per currency) need a second approver from the customer's members.
    thresholds_minor = models.JSONField(default=dict, blank=True, help_text='{"GBP": 1000000}')
    # Any amount in a currency with no threshold above: needs approval if this is set.
    approve_unlisted_currencies = models.BooleanField(default=False)
    # A new or changed vendor needs approval before its first payment.
    approve_new_or_changed_vendors = models.BooleanField(default=True)
    approval_timeout_hours = models.PositiveIntegerField(default=72)
    # Per-request limit (source currency minor units); above it a request is rejected.
    max_amount_minor = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "approval policies"

    def __str__(self) -> str:
        return f"approval policy of {self.profile}"


class PaymentBatch(models.Model):
    """Requests that arrived together: one JSON batch or one pain.001 file."""

    class Source(models.TextChoices):
        API = "api", "API (JSON)"
        PAIN001 = "pain001", "ISO 20022 pain.001 file"

    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="erp_batches")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    erp_batch_id = models.CharField(max_length=100)
    # For files: sha256 of the bytes and the file's MsgId (one batch per file, sent twice or not).
    checksum = models.CharField(max_length=64, blank=True)
    request_count = models.PositiveIntegerField(default=0)
    # Files: the pain.001 version and MsgId, and the payments refused one by one (never
    # requests): [{"pmt_inf_id", "end_to_end_id", "reasons": [{"field", "code", "message"}]}].
    file_version = models.CharField(max_length=20, blank=True)
    message_id = models.CharField(max_length=35, blank=True)
    rejected_items = models.JSONField(default=list, blank=True)
    created_by_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "payment batches"
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "erp_batch_id"], name="payment_batch_unique_erp_id"
            )
        ]

    def __str__(self) -> str:
        return f"batch {self.erp_batch_id} ({self.request_count})"


class PaymentFileIntake(models.Model):
    """A pain.001 file's payments taken in the background: the file stored once, read in
    chunks of PAYMENT_FILE_CHUNK_PAYMENTS, each chunk's requests committed together with the
    cursor (`payments_done`), so a worker killed mid-file loses at most the chunk it was in and
    the next run resumes after the last committed one. A row with a due time (`next_run_at`)
    that the beat scan `payment_file_intake` finds (integrations/payments): no broker message
    is the only record of the work."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    batch = models.OneToOneField(PaymentBatch, on_delete=models.PROTECT, related_name="intake")
    # The file as uploaded; read back in windows (never whole) by the intake.
    content = models.BinaryField()
    size_bytes = models.PositiveIntegerField()
    source_currency = models.CharField(max_length=3)
    # Who uploaded it: the maker of every request (the maker may not approve them).
    actor_label = models.CharField(max_length=200)
    actor_user_id = models.IntegerField(null=True, blank=True)
    actor_request_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    payments_total = models.PositiveIntegerField()
    # The cursor: payments settled (a request made, or refused on the batch), in file order.
    payments_done = models.PositiveIntegerField(default=0)
    requests_created = models.PositiveIntegerField(default=0)
    payments_rejected = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    next_run_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_run_at"],
                name="payment_file_intake_due",
                condition=models.Q(state__in=["pending", "running"]),
            )
        ]

    def __str__(self) -> str:
        return f"intake of {self.batch_id}: {self.payments_done}/{self.payments_total}"


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class PaymentRequest(ConcurrentTransitionMixin, models.Model):
    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        HELD = "held", "Held for review"
        VALIDATED = "validated", "Validated"
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        QUOTED = "quoted", "Quoted"
        TRANSFER_CREATED = "transfer_created", "Transfer created"
        FUNDED = "funded", "Funded"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired (not approved in time)"

    class AmountSide(models.TextChoices):
        SOURCE = "source", "Source (what the customer pays)"
        TARGET = "target", "Target (what the vendor receives)"

    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="erp_requests")
    batch = models.ForeignKey(
        PaymentBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    erp_payment_id = models.CharField(max_length=100)
    erp_approval_ref = models.CharField(max_length=100, blank=True)
    erp_approver = models.CharField(max_length=140, blank=True)
    erp_approved_at = models.DateTimeField(null=True, blank=True)
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    beneficiary = models.ForeignKey(
        Beneficiary, on_delete=models.PROTECT, related_name="erp_requests"
    )
    amount_side = models.CharField(max_length=6, choices=AmountSide.choices)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    source_currency = models.CharField(max_length=3)
    target_currency = models.CharField(max_length=3)
    due_date = models.DateField()
    bill_reference = models.CharField(max_length=140, blank=True, db_index=True)
    remittance_reference = models.CharField(max_length=140, blank=True)
    # From a pain.001 file: its PmtInfId (for the pain.002 status report).
    file_pmt_inf_id = models.CharField(max_length=35, blank=True)
    state = FSMField(default=State.RECEIVED, choices=State.choices, protected=True, db_index=True)
    # Why it is held, rejected or awaiting approval: [{"field", "code", "message"}].
    reasons = models.JSONField(default=list, blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    suspicious_activity = models.BooleanField(default=False, db_index=True)
    approval_reasons = models.JSONField(default=list, blank=True)
    approval_due_at = models.DateTimeField(null=True, blank=True)
    maker_label = models.CharField(max_length=200)
    maker_user_id = models.BigIntegerField(null=True, blank=True)
    quote = models.OneToOneField(
        Quote, null=True, blank=True, on_delete=models.PROTECT, related_name="erp_request"
    )
    transfer = models.OneToOneField(
        Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="erp_request"
    )
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "erp_payment_id"], name="payment_request_unique_erp_id"
            ),
            models.CheckConstraint(
                condition=models.Q(amount_minor__gt=0), name="payment_request_amount_positive"
            ),
        ]
        indexes = [
            # The approval-timeout scan: unapproved requests by due time.
            models.Index(
                fields=["approval_due_at"],
                name="payment_request_approval_due",
                condition=models.Q(state="awaiting_approval"),
            ),
            # Duplicate detection: same vendor account, amount and bill reference.
            models.Index(
                fields=["profile", "beneficiary", "amount_minor", "bill_reference"],
                name="payment_request_dup_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.erp_payment_id} ({self.state})"

    # --- transitions: state and timestamps only ---------------------------------------------
    @transition(field=state, source=State.RECEIVED, target=State.VALIDATED)
    def validate(self) -> None:
        pass

    @transition(field=state, source=State.RECEIVED, target=State.HELD)
    def hold(self) -> None:
        pass

    @transition(field=state, source=State.HELD, target=State.VALIDATED)
    def release(self) -> None:
        pass

    @transition(field=state, source=State.VALIDATED, target=State.AWAITING_APPROVAL)
    def request_approval(self) -> None:
        pass

    @transition(field=state, source=[State.VALIDATED, State.AWAITING_APPROVAL], target=State.QUOTED)
    def mark_quoted(self) -> None:
        pass

    @transition(field=state, source=State.QUOTED, target=State.TRANSFER_CREATED)
    def mark_transfer_created(self) -> None:
        pass

    @transition(field=state, source=State.TRANSFER_CREATED, target=State.FUNDED)
    def mark_funded(self) -> None:
        pass

    @transition(field=state, source=[State.FUNDED, State.TRANSFER_CREATED], target=State.PROCESSING)
    def mark_processing(self) -> None:
        pass

    @transition(field=state, source=State.PROCESSING, target=State.COMPLETED)
    def mark_completed(self) -> None:
        self.finished_at = timezone.now()

    @transition(field=state, source=[State.PROCESSING, State.COMPLETED], target=State.FAILED)
    def mark_failed(self, *, reason: str = "") -> None:
        self.failure_reason = reason
        self.finished_at = timezone.now()

    @transition(
        field=state,
        source=[State.RECEIVED, State.HELD, State.VALIDATED, State.AWAITING_APPROVAL],
        target=State.REJECTED,
    )
    def reject(self) -> None:
        self.finished_at = timezone.now()

    @transition(field=state, source=State.AWAITING_APPROVAL, target=State.EXPIRED)
    def expire(self) -> None:
        self.finished_at = timezone.now()

    @transition(
        field=state,
        source=[
            State.RECEIVED,
            State.HELD,
            State.VALIDATED,
            State.AWAITING_APPROVAL,
            State.QUOTED,
            State.TRANSFER_CREATED,
            State.FUNDED,
            State.PROCESSING,
        ],
        target=State.CANCELLED,
    )
    def cancel(self) -> None:
        self.finished_at = timezone.now()


class PaymentRequestTransition(models.Model):
    """One row per transition: who moved the request, from what to what, and why."""

    payment_request = models.ForeignKey(
        PaymentRequest, on_delete=models.PROTECT, related_name="transitions"
    )
    transition = models.CharField(max_length=40)
    source_state = models.CharField(max_length=20)
    target_state = models.CharField(max_length=20)
    actor_label = models.CharField(max_length=200)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        triggers = [
            pgtrigger.Protect(
                name="payment_request_transition_append_only",
                operation=pgtrigger.Update | pgtrigger.Delete,
            )
        ]

    def __str__(self) -> str:
        return f"{self.payment_request}: {self.source_state} -> {self.target_state}"


class Approval(models.Model):
    """One decision on a request by one of the customer's members (or an operator)."""

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    request = models.ForeignKey(PaymentRequest, on_delete=models.PROTECT, related_name="approvals")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    approver_label = models.CharField(max_length=200)
    approver_user_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        triggers = [
            pgtrigger.Protect(
                name="payment_approval_append_only",
                operation=pgtrigger.Update | pgtrigger.Delete,
            )
        ]

    def __str__(self) -> str:
        return f"{self.decision} by {self.approver_label}"


class ApprovalFailure(models.Model):
    """The metric "ERP approval failures" by profile and reason: each refused approval attempt,
    rejection or expiry, counted per (profile, reason) for operators."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=60)
    request = models.ForeignKey(
        PaymentRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["profile", "reason"])]

    def __str__(self) -> str:
        return f"{self.profile_id}: {self.reason}"


class PaymentException(PaymentRequest):
    """The operators' exception list (a proxy: its admin shows only requests needing eyes)."""

    class Meta:
        proxy = True
        verbose_name = "payment exception"
