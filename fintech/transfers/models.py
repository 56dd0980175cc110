"""Transfers: money from a profile's balance to a beneficiary, through an audited state machine.

created --fund--> funded --submit--> processing --complete--> completed --refund--> refunded
   |                 |                    |
   +--cancel--> cancelled <--cancel-------+ (before payout)
                                          +--fail--> failed --refund--> refunded

Transitions only set state and timestamps. Services lock the row, run the transition,
post the ledger entry, write the audit row and emit the event in one transaction.
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


# Row history by trigger: every change, even a bulk update or raw SQL, is kept with the
# pghistory context (actor, reason, request id) the services set.
@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class Transfer(ConcurrentTransitionMixin, models.Model):
    class State(models.TextChoices):
        CREATED = "created", "Created"
        FUNDED = "funded", "Funded"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"

    reference = models.CharField(max_length=20, unique=True)
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="transfers")
    beneficiary = models.ForeignKey(Beneficiary, on_delete=models.PROTECT, related_name="transfers")
    # A quote pays for one transfer only.
    quote = models.OneToOneField(Quote, on_delete=models.PROTECT, related_name="transfer")
    customer_transaction_id = models.CharField(max_length=100)
    state = FSMField(default=State.CREATED, choices=State.choices, protected=True, db_index=True)
    source_currency = models.CharField(max_length=3)
    source_amount_minor = models.BigIntegerField()
    target_currency = models.CharField(max_length=3)
    target_amount_minor = models.BigIntegerField()
    fee_minor = models.BigIntegerField()
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    funded_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("transition_transfer", "Can move a transfer through its states (with a reason)"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "customer_transaction_id"],
                name="transfer_unique_customer_transaction_id",
            ),
            models.CheckConstraint(
                condition=models.Q(source_amount_minor__gt=0, target_amount_minor__gt=0),
                name="transfer_amounts_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @transition(field=state, source=State.CREATED, target=State.FUNDED)
    def fund(self) -> None:
        self.funded_at = timezone.now()

    @transition(field=state, source=State.FUNDED, target=State.PROCESSING)
    def submit(self) -> None:
        self.submitted_at = timezone.now()

    @transition(field=state, source=State.PROCESSING, target=State.COMPLETED)
    def complete(self) -> None:
        self.completed_at = timezone.now()

    @transition(field=state, source=State.PROCESSING, target=State.FAILED)
    def fail(self, *, reason: str = "") -> None:
        self.failed_at = timezone.now()
        self.failure_reason = reason

    # From processing only until the payout partner has sent the money: the payout connector
    # refuses a cancel once the payment is out (it then fails or completes, and is refunded).
    @transition(
        field=state, source=[State.CREATED, State.FUNDED, State.PROCESSING], target=State.CANCELLED
    )
    def cancel(self) -> None:
        self.cancelled_at = timezone.now()

    @transition(field=state, source=[State.COMPLETED, State.FAILED], target=State.REFUNDED)
    def refund(self) -> None:
        self.refunded_at = timezone.now()


class TransferTransition(models.Model):
    """One row per transition: who moved the transfer, from what to what, and why."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="transitions")
    transition = models.CharField(max_length=20)
    source_state = models.CharField(max_length=20)
    target_state = models.CharField(max_length=20)
    actor_label = models.CharField(max_length=200)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        # The timeline is evidence: PostgreSQL refuses to rewrite or delete it.
        triggers = [
            pgtrigger.Protect(
                name="transfer_transition_append_only",
                operation=pgtrigger.Update | pgtrigger.Delete,
            )
        ]

    def __str__(self) -> str:
        return f"{self.transfer}: {self.source_state} -> {self.target_state}"
