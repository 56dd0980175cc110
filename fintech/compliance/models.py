"""Compliance (KYC/KYB) status per profile, as a state machine.

```
unverified --submit--> pending --verify--> verified
                          |  ^
                     reject  resubmit
                          v  |
                        rejected
```

plus a review-required flag with its reason (`flag_review` / `clear_review`), which can be
raised in any state (e.g. by transaction monitoring on a verified business).

Decisions, written down:
- A rejected profile may be resubmitted (`resubmit`: rejected -> pending) once the customer
  has sent new documents; the rejection stays in the audit trail and the row history. A
  customer who must never come back is handled by keeping them rejected (operators simply
  do not resubmit), not by a separate terminal state.
- A profile under review cannot be verified until the review is cleared (it can still be
  rejected): verifying is exactly what a pending review is meant to stop.
- Verified is final for this state machine; withdrawing trust is done with the review flag.
- Flagging an already flagged status, or clearing one that is not flagged, is refused like
  any other illegal transition (409, nothing changed), so double clicks do not write twice.

Transitions only set state and timestamps; services in `services.py` lock the row, check
`can_proceed`, call them, and write the audit row and event. The state field is protected:
never assign it directly.
"""

from __future__ import annotations

import pghistory
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from fintech.customers.models import Profile


def _not_under_review(status: models.Model) -> bool:
    return isinstance(status, ComplianceStatus) and not status.review_required


def _under_review(status: models.Model) -> bool:
    return isinstance(status, ComplianceStatus) and status.review_required


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class ComplianceStatus(ConcurrentTransitionMixin, models.Model):
    """One per profile; see the module docstring for the state machine and its rules."""

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
        self.submitted_at = timezone.now()

    @transition(field=state, source=State.REJECTED, target=State.PENDING)
    def resubmit(self) -> None:
        self.submitted_at = timezone.now()
        self.decided_at = None

    @transition(
        field=state, source=State.PENDING, target=State.VERIFIED, conditions=[_not_under_review]
    )
    def verify(self) -> None:
        self.decided_at = timezone.now()

    @transition(field=state, source=State.PENDING, target=State.REJECTED)
    def reject(self) -> None:
        self.decided_at = timezone.now()

    # target=None: the state stays as it is; the FSM still guards the flag's own rule.
    @transition(field=state, source="*", target=None, conditions=[_not_under_review])
    def flag_review(self, reason: str) -> None:
        self.review_required = True
        self.review_reason = reason

    @transition(field=state, source="*", target=None, conditions=[_under_review])
    def clear_review(self) -> None:
        self.review_required = False
        self.review_reason = ""
