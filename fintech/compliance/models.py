"""Compliance (KYC/KYB) status per profile, as a state machine."""

from __future__ import annotations

from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from fintech.customers.models import Profile


class ComplianceStatus(ConcurrentTransitionMixin, models.Model):
    """unverified -> pending -> verified | rejected; plus a review-required flag with a reason.

    Transitions only set state and timestamps; services in `services.py` lock the row,
    call them, and write the audit row and event.
    """

    class State(models.TextChoices):
        UNVERIFIED = "unverified", "Unverified"
        PENDING = "pending", "Pending"
        VERIFIED = "verified", "Verified"
        REJECTED = "rejected", "Rejected"

    profile = models.OneToOneField(Profile, on_delete=models.CASCADE, related_name="compliance")
    state = FSMField(default=State.UNVERIFIED, choices=State.choices, protected=True, db_index=True)
    review_required = models.BooleanField(default=False, db_index=True)
    review_reason = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "compliance statuses"

    def __str__(self) -> str:
        return f"{self.profile}: {self.state}"

    @transition(field=state, source=State.UNVERIFIED, target=State.PENDING)
    def submit(self) -> None:
        pass

    @transition(field=state, source=State.PENDING, target=State.VERIFIED)
    def verify(self) -> None:
        pass

    @transition(field=state, source=State.PENDING, target=State.REJECTED)
    def reject(self) -> None:
        pass
