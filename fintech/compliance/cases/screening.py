"""The "screening_hit" case source: a sanctions screening hit in a case.

Registered by ComplianceConfig.ready. A case closed as cleared clears the hit (false
positive: the hold lifts unless another hit holds the subject); closed as reported confirms
it (the hold stays): fintech.compliance.alerts.case_decisions."""

from __future__ import annotations

from typing import Any

from fintech.compliance.alerts import HELD_TRANSFER_STATES, case_decisions
from fintech.compliance.models import ScreeningHit
from fintech.compliance.screening.services import screening_hit_clear, screening_hit_confirm
from fintech.core.errors import NotFound
from fintech.transfers.models import Transfer

KIND = "screening_hit"


def _hit(hit_id: int) -> ScreeningHit:
    hit = ScreeningHit.objects.select_related("entry", "version").filter(pk=hit_id).first()
    if hit is None:
        raise NotFound(f"screening hit {hit_id} not found")
    return hit


release, confirm = case_decisions(
    noun="screening hit",
    status_of=lambda hit_id: _hit(hit_id).status,
    clear=lambda actor, hit_id, note: screening_hit_clear(actor=actor, hit=hit_id, note=note),
    confirm=lambda actor, hit_id, note: screening_hit_confirm(actor=actor, hit=hit_id, note=note),
)


def describe(hit_id: int) -> dict[str, Any]:
    hit = _hit(hit_id)
    entry = hit.entry
    return {
        "kind": KIND,
        "id": hit.pk,
        "subject_type": hit.subject_type,
        "subject_id": hit.subject_id,
        "subject_name": hit.subject_name,
        "matched_name": hit.matched_name,
        "score": hit.score,
        "list": str(hit.version),
        "list_entry_id": entry.external_id,
        "list_entry_names": entry.names,
        "list_entry_birth_dates": entry.birth_dates,
        "list_entry_countries": entry.countries,
        "raised_at": hit.created_at.isoformat(),
        "status": hit.status,
        "decided_by": hit.decided_by,
        "decided_at": hit.decided_at.isoformat() if hit.decided_at else "",
    }


def transfers(hit_id: int) -> list[int]:
    """The transfers the hit holds: all of the profile's not yet submitted ones for a hit on
    the profile or a member, those to the beneficiary for a beneficiary hit."""
    hit = _hit(hit_id)
    held = Transfer.objects.filter(profile_id=hit.profile_id, state__in=HELD_TRANSFER_STATES)
    if hit.subject_type == ScreeningHit.SubjectType.BENEFICIARY:
        held = held.filter(beneficiary_id=hit.subject_id)
    return list(held.order_by("pk").values_list("pk", flat=True))
