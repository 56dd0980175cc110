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
import pgtrigger
from django.conf import settings
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


# ---------------------------------------------------------------------------------------------
# Sanctions screening (issue 19, part 1). Lists are loaded from files as versions
# (screening/loading.py); subjects (profiles, members, beneficiaries) are matched against
# their entries (screening/matching.py); a match is a ScreeningHit that holds its subject.


class SanctionsSource(models.TextChoices):
    OFAC = "ofac", "OFAC SDN"
    UN = "un", "UN consolidated list"
    OPENSANCTIONS = "opensanctions", "OpenSanctions (FollowTheMoney)"


class SanctionsListVersion(models.Model):
    """One load of one list file. Entries carry the versions that added, changed and removed
    them; `rescreen_due_at` is the due-time row the rescreen scan finds (tasks.py)."""

    source = models.CharField(max_length=20, choices=SanctionsSource.choices)
    number = models.PositiveIntegerField(help_text="1, 2, ... per source")
    published = models.CharField(
        max_length=64, blank=True, help_text="the publisher's date or label, when the file has one"
    )
    filename = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the file")
    entries_total = models.PositiveIntegerField(default=0)
    entries_added = models.PositiveIntegerField(default=0)
    entries_changed = models.PositiveIntegerField(default=0)
    entries_removed = models.PositiveIntegerField(default=0)
    loaded_by = models.CharField(max_length=200)
    loaded_at = models.DateTimeField(auto_now_add=True)
    rescreen_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    rescreened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-loaded_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "number"], name="sanctions_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} v{self.number}"


class SanctionsEntry(models.Model):
    """A listed person or entity, as of the last version that carried it."""

    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        ENTITY = "entity", "Entity"

    source = models.CharField(max_length=20, choices=SanctionsSource.choices)
    external_id = models.CharField(max_length=200, help_text="the list's own id (uid, DATAID, id)")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The primary name first, then aliases, as published; `names_normalised` in the same order.
    names = models.JSONField(default=list)
    names_normalised = models.JSONField(default=list)
    birth_dates = models.JSONField(default=list, help_text='"YYYY" or "YYYY-MM-DD"')
    countries = models.JSONField(default=list, help_text="ISO 3166-1 alpha-2, upper case")
    # SHA-256 of the fields above: a cleared hit stays cleared until this changes.
    content_hash = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True, db_index=True)
    added_in = models.ForeignKey(SanctionsListVersion, on_delete=models.PROTECT, related_name="+")
    changed_in = models.ForeignKey(SanctionsListVersion, on_delete=models.PROTECT, related_name="+")
    removed_in = models.ForeignKey(
        SanctionsListVersion, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["source", "external_id"]
        verbose_name_plural = "sanctions entries"
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="sanctions_entry_unique")
        ]

    def __str__(self) -> str:
        name = self.names[0] if self.names else "?"
        return f"{name} ({self.get_source_display()} {self.external_id})"


HOLDING_HIT_STATES = ("open", "confirmed")


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class ScreeningHit(models.Model):
    """A subject's name matched a list entry. Open and confirmed hits hold the subject (no
    transfer to a held beneficiary, none from a held profile); a cleared hit remembers the
    entry's content hash and the same pair is not raised again until the entry changes."""

    class SubjectType(models.TextChoices):
        PROFILE = "profile", "Profile"
        MEMBER = "member", "Member of a profile"
        BENEFICIARY = "beneficiary", "Beneficiary"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLEARED = "cleared", "Cleared (false positive)"
        CONFIRMED = "confirmed", "Confirmed match"

    subject_type = models.CharField(max_length=12, choices=SubjectType.choices)
    subject_id = models.BigIntegerField(help_text="Profile, Membership or Beneficiary id")
    # The profile the subject belongs to: whose transfers a profile or member hit holds.
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="screening_hits")
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.PROTECT, related_name="hits")
    version = models.ForeignKey(SanctionsListVersion, on_delete=models.PROTECT, related_name="+")
    entry_hash = models.CharField(max_length=64, help_text="the entry's content hash when raised")
    score = models.PositiveSmallIntegerField()
    subject_name = models.CharField(max_length=200)
    matched_name = models.CharField(max_length=500)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_by = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="screeninghit_subject")]
        constraints = [
            # One live hit per subject and entry: a rescreen racing a create cannot raise twice.
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "entry"],
                condition=models.Q(status__in=HOLDING_HIT_STATES),
                name="screeninghit_one_live_per_entry",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject_type} {self.subject_id} ~ {self.matched_name} ({self.score})"


# ---------------------------------------------------------------------------------------------
# Cases (issue 19, part 3). Alerts (screening hits; later monitoring alerts) are grouped per
# profile into a case that compliance investigates and closes as cleared (holds released) or
# reported (holds kept, held transfers optionally cancelled). See fintech/compliance/cases/.
#
#   open --start_investigation--> investigating --escalate--> escalated
#                                   |     ^                      |
#                                   |     +--return_to_investigation
#                                   +--close_cleared / close_reported <--+
#
# Closed is final. A profile has at most one active (open, investigating, escalated) case:
# a new alert on it attaches there; after a close, the next alert opens a new case.


class CaseRisk(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


# Risk bands over the 0-100 score (the highest of the case's items).
RISK_BANDS = ((80, CaseRisk.HIGH), (50, CaseRisk.MEDIUM), (0, CaseRisk.LOW))


def risk_level(score: int) -> str:
    return next(level for floor, level in RISK_BANDS if score >= floor)


ACTIVE_CASE_STATES = ("open", "investigating", "escalated")


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class Case(ConcurrentTransitionMixin, models.Model):
    """A compliance case on one profile; see the block comment above for the lifecycle.

    Closing a case at or above CASE_FOUR_EYES_RISK takes two officers: the first proposes
    the decision (`proposed_*`), a different one approves it (`approved_by`)."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        INVESTIGATING = "investigating", "Investigating"
        ESCALATED = "escalated", "Escalated"
        CLOSED_CLEARED = "closed_cleared", "Closed: cleared"
        CLOSED_REPORTED = "closed_reported", "Closed: reported"

    class Decision(models.TextChoices):
        CLEARED = "cleared", "Cleared (holds released)"
        REPORTED = "reported", "Reported (holds kept)"

    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="cases")
    state = FSMField(default=State.OPEN, choices=State.choices, protected=True, db_index=True)
    risk_score = models.PositiveSmallIntegerField(default=0, help_text="0-100: the highest item")
    risk_level = models.CharField(
        max_length=10, choices=CaseRisk.choices, default=CaseRisk.LOW, db_index=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the compliance officer working it",
    )
    opened_at = models.DateTimeField(auto_now_add=True, db_index=True)
    due_at = models.DateTimeField(db_index=True, help_text="decision due (CASE_DUE_DAYS)")
    updated_at = models.DateTimeField(auto_now=True)
    # Four eyes: the maker's proposal, waiting for another officer.
    proposed_decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    proposed_cancel_transfers = models.BooleanField(default=False)
    proposed_note = models.TextField(blank=True)
    proposed_by = models.CharField(max_length=200, blank=True)
    proposed_by_user_id = models.BigIntegerField(null=True, blank=True)
    proposed_at = models.DateTimeField(null=True, blank=True)
    # The decision as taken.
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    decision_note = models.TextField(blank=True)
    decided_by = models.CharField(max_length=200, blank=True)
    approved_by = models.CharField(max_length=200, blank=True, help_text="the second officer")
    closed_at = models.DateTimeField(null=True, blank=True)
    transfers_cancelled = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # One active case per profile: two alerts racing to open one cannot make two.
            models.UniqueConstraint(
                fields=["profile"],
                condition=models.Q(state__in=ACTIVE_CASE_STATES),
                name="case_one_active_per_profile",
            )
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.get_state_display()})"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_CASE_STATES

    @transition(field=state, source=State.OPEN, target=State.INVESTIGATING)
    def start_investigation(self) -> None:
        pass

    @transition(field=state, source=State.INVESTIGATING, target=State.ESCALATED)
    def escalate(self) -> None:
        pass

    @transition(field=state, source=State.ESCALATED, target=State.INVESTIGATING)
    def return_to_investigation(self) -> None:
        pass

    @transition(
        field=state, source=[State.INVESTIGATING, State.ESCALATED], target=State.CLOSED_CLEARED
    )
    def close_cleared(self) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=state, source=[State.INVESTIGATING, State.ESCALATED], target=State.CLOSED_REPORTED
    )
    def close_reported(self) -> None:
        self.closed_at = timezone.now()


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class CaseItem(models.Model):
    """One alert in a case, by kind and id (fintech.compliance.cases.registry): a screening
    hit today, a monitoring alert later. An alert is in one case only."""

    class Outcome(models.TextChoices):
        PENDING = "", "Pending"
        RELEASED = "released", "Released (hold lifted)"
        CONFIRMED = "confirmed", "Confirmed (hold kept)"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="items")
    source = models.CharField(max_length=40, help_text='the kind, e.g. "screening_hit"')
    source_id = models.BigIntegerField()
    summary = models.CharField(max_length=300)
    score = models.PositiveSmallIntegerField(help_text="0-100, as raised")
    added_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default="")

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="caseitem_alert_once")
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.source_id}"


class CaseNote(models.Model):
    """An officer's note. Append-only: PostgreSQL refuses to rewrite or delete one."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_label = models.CharField(max_length=200)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        triggers = [
            pgtrigger.Protect(
                name="casenote_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self) -> str:
        return f"note {self.pk} on case {self.case_id}"


class CaseAttachment(models.Model):
    """Evidence kept in the database (never under a served media path): type and size checked
    on the way in, SHA-256 kept, downloaded only by compliance through the admin."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    filename = models.CharField(max_length=200, help_text="sanitised")
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_by_label = models.CharField(max_length=200)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        triggers = [
            pgtrigger.Protect(
                name="caseattachment_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self) -> str:
        return self.filename
