"""Reads for screening: the holds the transfer flow checks."""

from __future__ import annotations

from django.db.models import Q

from fintech.compliance.models import HOLDING_HIT_STATES, ScreeningHit
from fintech.core.errors import ScreeningHold

PROFILE_SUBJECTS = (ScreeningHit.SubjectType.PROFILE, ScreeningHit.SubjectType.MEMBER)


def screening_holds(*, profile_id: int, beneficiary_id: int | None = None) -> list[ScreeningHit]:
    """Open or confirmed hits on the profile (itself or a member) or on the beneficiary."""
    on_subject = Q(profile_id=profile_id, subject_type__in=PROFILE_SUBJECTS)
    if beneficiary_id is not None:
        on_subject |= Q(
            subject_type=ScreeningHit.SubjectType.BENEFICIARY, subject_id=beneficiary_id
        )
    return list(ScreeningHit.objects.filter(on_subject, status__in=HOLDING_HIT_STATES))


def screening_hold_check(*, profile_id: int, beneficiary_id: int | None = None) -> None:
    """Raise ScreeningHold when the profile or beneficiary is held. The message says what is
    held, not why: it reaches the customer, who must not learn of a sanctions match."""
    holds = screening_holds(profile_id=profile_id, beneficiary_id=beneficiary_id)
    if not holds:
        return
    held = sorted(
        {
            f"beneficiary {h.subject_id}"
            if h.subject_type == ScreeningHit.SubjectType.BENEFICIARY
            else f"profile {h.profile_id}"
            for h in holds
        }
    )
    raise ScreeningHold(
        f"{' and '.join(held)} on a compliance screening hold: no transfer can be created or "
        "submitted until compliance releases it"
    )


def screening_hold_summary(*, profile_id: int) -> list[str]:
    """What of the profile is held, for operators who may not see why (support): "the profile"
    and/or "beneficiary <id>", never the list, the entry or the case."""
    subjects = (
        ScreeningHit.objects.filter(profile_id=profile_id, status__in=HOLDING_HIT_STATES)
        .values_list("subject_type", "subject_id")
        .distinct()
    )
    held = {
        f"beneficiary {subject_id}"
        if subject_type == ScreeningHit.SubjectType.BENEFICIARY
        else "the profile"
        for subject_type, subject_id in subjects
    }
    return sorted(held, key=lambda h: (h != "the profile", h))
