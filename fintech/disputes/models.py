"""Disputes: a customer (or a partner) says a completed transfer or a wallet funding went wrong.

opened --request_evidence--> evidence_requested --review--> under_review --win--> won
   |                                                             +--lose--> lost
   +--review--> under_review              (any open state) --withdraw--> withdrawn

"won" and "lost" are the platform's side of it, as with card disputes: a lost dispute refunds
the customer. Transitions only set state and timestamps; fintech.disputes.services locks the
row, transitions, moves the money through the ledger, audits and emits `dispute.<state>`.
"""

from __future__ import annotations

import pghistory
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from fintech.customers.models import Profile
from fintech.transfers.models import Transfer


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class Dispute(ConcurrentTransitionMixin, models.Model):
    class State(models.TextChoices):
        OPENED = "opened", "Opened"
        EVIDENCE_REQUESTED = "evidence_requested", "Evidence requested"
        UNDER_REVIEW = "under_review", "Under review"
        WON = "won", "Won (no refund)"
        LOST = "lost", "Lost (refunded)"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Reason(models.TextChoices):
        NOT_RECEIVED = "not_received", "Beneficiary did not receive it"
        WRONG_AMOUNT = "wrong_amount", "Wrong amount"
        UNAUTHORISED = "unauthorised", "Not authorised by the customer"
        DUPLICATE = "duplicate", "Duplicate payment"
        PARTNER_RETURN = "partner_return", "Returned or recalled by the payout partner"

    OPEN_STATES = (State.OPENED, State.EVIDENCE_REQUESTED, State.UNDER_REVIEW)

    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="disputes")
    # What is disputed: a transfer, or a wallet funding (its ledger entry; fintech never
    # imports ledger.models, so an id). Exactly one of the two (constraint below).
    transfer = models.ForeignKey(
        Transfer, on_delete=models.PROTECT, related_name="disputes", null=True, blank=True
    )
    funding_entry_id = models.BigIntegerField(
        null=True, blank=True, db_index=True, help_text="the ledger entry of a disputed funding"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    description = models.TextField(blank=True)
    state = FSMField(default=State.OPENED, choices=State.choices, protected=True, db_index=True)
    # What is in dispute: the transfer's source amount or the funded amount (minor units).
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    # The ledger hold reserving the refund while the dispute is open (ledger.Hold id; fintech
    # never imports ledger.models, so an id, not a foreign key).
    hold_id = models.BigIntegerField(null=True, blank=True)
    # The next deadline: the platform's answer while opened or under review, the customer's
    # evidence while evidence_requested. Found by a scan (disputes_expire), never a countdown.
    respond_by = models.DateTimeField(db_index=True)
    # The payout partner's answer to our recall/trace request, as it came.
    partner_answer = models.JSONField(default=dict, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("decide_dispute", "Can move a dispute through its states (with a reason)")]
        constraints = [
            # One open dispute per transfer: a second would hold the money twice.
            models.UniqueConstraint(
                fields=["transfer"],
                condition=Q(state__in=["opened", "evidence_requested", "under_review"]),
                name="dispute_one_open_per_transfer",
            ),
            models.UniqueConstraint(
                fields=["funding_entry_id"],
                condition=Q(state__in=["opened", "evidence_requested", "under_review"]),
                name="dispute_one_open_per_funding",
            ),
            models.CheckConstraint(
                condition=Q(transfer__isnull=True) ^ Q(funding_entry_id__isnull=True),
                name="dispute_on_transfer_or_funding",
            ),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="dispute_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"dispute {self.pk} on {self.subject}"

    @property
    def subject(self) -> str:
        """What is disputed, as people name it: a transfer's reference or a funding's entry."""
        if self.transfer is None:
            return f"wallet funding {self.funding_entry_id}"
        return f"transfer {self.transfer.reference}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @transition(field=state, source=State.OPENED, target=State.EVIDENCE_REQUESTED)
    def request_evidence(self) -> None:
        pass

    @transition(
        field=state, source=[State.OPENED, State.EVIDENCE_REQUESTED], target=State.UNDER_REVIEW
    )
    def review(self) -> None:
        pass

    @transition(field=state, source=State.UNDER_REVIEW, target=State.WON)
    def win(self) -> None:
        self.decided_at = timezone.now()

    @transition(field=state, source=State.UNDER_REVIEW, target=State.LOST)
    def lose(self) -> None:
        self.decided_at = timezone.now()

    @transition(
        field=state,
        source=[State.OPENED, State.EVIDENCE_REQUESTED, State.UNDER_REVIEW],
        target=State.WITHDRAWN,
    )
    def withdraw(self) -> None:
        self.decided_at = timezone.now()
