"""Dispute reads for the API and the admin (always scoped to the caller's profile in the API)."""

from __future__ import annotations

from django.db.models import QuerySet

from fintech.core.errors import NotFound
from fintech.customers.models import Profile
from fintech.disputes.models import Dispute


def dispute_list(profile: Profile, *, state: str | None = None) -> QuerySet[Dispute]:
    disputes = Dispute.objects.filter(profile=profile).select_related("transfer")
    if state:
        disputes = disputes.filter(state=state)
    return disputes


def dispute_get(profile: Profile, dispute_id: int | str) -> Dispute:
    key = str(dispute_id).strip()
    found = dispute_list(profile).filter(pk=int(key)).first() if key.isdigit() else None
    if found is None:
        raise NotFound(f"dispute {dispute_id} not found")
    return found


def transfer_on_hold(*, transfer_id: int) -> bool:
    """Whether an open dispute holds the transfer's money (the customer sees that, not why)."""
    return Dispute.objects.filter(transfer_id=transfer_id, state__in=Dispute.OPEN_STATES).exists()
