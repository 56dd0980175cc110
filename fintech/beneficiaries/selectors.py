"""Reads for beneficiaries. Decrypted details are read only by `beneficiary_bank_details`."""

from __future__ import annotations

from django.db.models import QuerySet

from fintech.beneficiaries.models import Beneficiary
from fintech.core.errors import NotFound
from fintech.customers.models import Profile


def beneficiaries_for_profile(
    *, profile: Profile | int, active_only: bool = True
) -> QuerySet[Beneficiary]:
    profile_id = profile.pk if isinstance(profile, Profile) else profile
    qs = Beneficiary.objects.filter(profile_id=profile_id)
    if active_only:
        qs = qs.filter(is_active=True)
    # The ciphertext is never needed for listing; do not even load it.
    return qs.defer("bank_details")


def beneficiary_get_for_profile(
    *, profile: Profile | int, beneficiary_id: int | str
) -> Beneficiary:
    """One of the profile's beneficiaries; another profile's id is NotFound."""
    try:
        return beneficiaries_for_profile(profile=profile, active_only=False).get(
            pk=int(beneficiary_id)
        )
    except (Beneficiary.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(f"Beneficiary {beneficiary_id} not found") from exc


def beneficiary_bank_details(*, beneficiary: Beneficiary) -> dict[str, str]:
    """The full, decrypted details: for payout connectors only, never for display or logs."""
    details: dict[str, str] = Beneficiary.objects.values_list("bank_details", flat=True).get(
        pk=beneficiary.pk
    )
    return details
