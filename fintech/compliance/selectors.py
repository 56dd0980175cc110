"""Reads for compliance."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from fintech.compliance.models import ComplianceStatus
from fintech.customers.models import Profile


def compliance_status_for_profile(*, profile: Profile | int) -> ComplianceStatus:
    profile_id = profile.pk if isinstance(profile, Profile) else profile
    return ComplianceStatus.objects.select_related("profile").get(profile_id=profile_id)


def profile_can_transact(*, profile: Profile | int) -> bool:
    """Verified and not under review: the only status that may move money."""
    profile_id = profile.pk if isinstance(profile, Profile) else profile
    return ComplianceStatus.objects.filter(
        profile_id=profile_id, state=ComplianceStatus.State.VERIFIED, review_required=False
    ).exists()


def compliance_review_queue() -> QuerySet[ComplianceStatus]:
    """What compliance officers work on: pending decisions and open reviews, oldest first."""
    return (
        ComplianceStatus.objects.filter(
            Q(state=ComplianceStatus.State.PENDING) | Q(review_required=True)
        )
        .select_related("profile")
        .order_by("updated_at", "id")
    )
