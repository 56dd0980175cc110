"""Writes for beneficiaries. Bank details are never edited: create a new one, deactivate the old."""

from __future__ import annotations

import pghistory
from django.utils import timezone

from fintech.beneficiaries.fingerprint import details_fingerprint
from fintech.beneficiaries.models import Beneficiary
from fintech.beneficiaries.validators import beneficiary_input_clean
from fintech.compliance.screening.services import beneficiary_screen
from fintech.core.errors import FieldError, TransitionNotAllowed, ValidationFailed
from fintech.core.services import Actor, audit_record, event_emit
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile


def _event_payload(beneficiary: Beneficiary) -> dict[str, object]:
    # Minimal on purpose: events leave the platform (webhooks, CRM); bank details never do.
    return {
        "beneficiary_id": beneficiary.pk,
        "profile_id": beneficiary.profile_id,
        "currency": beneficiary.currency,
        "country": beneficiary.country,
        "scheme": beneficiary.scheme,
    }


@service_transaction
def beneficiary_create(
    *,
    actor: Actor,
    profile: Profile,
    holder_name: str,
    currency: str,
    country: str,
    scheme: str,
    details: dict[str, str],
) -> Beneficiary:
    """Validate per scheme (nothing saved on any error), store the normalised details
    encrypted, a masked form for display and a keyed fingerprint of the account (monitoring's
    cross-profile match, fingerprint.py), audit, and emit `beneficiary.added`."""
    data = beneficiary_input_clean(
        holder_name=holder_name, currency=currency, country=country, scheme=scheme, details=details
    )
    with pghistory.context(actor=actor.label, request_id=actor.request_id):
        beneficiary = Beneficiary.objects.create(
            profile=profile,
            holder_name=data.holder_name,
            currency=data.currency,
            country=data.country,
            scheme=data.scheme,
            bank_details=data.details,
            masked_details=data.masked_details,
            details_fingerprint=details_fingerprint(data.scheme, data.details),
        )
    audit_record(
        actor=actor,
        action="beneficiary.added",
        target=beneficiary,
        data={**_event_payload(beneficiary), "masked_details": beneficiary.masked_details},
    )
    event_emit(type="beneficiary.added", profile_id=profile.pk, payload=_event_payload(beneficiary))
    # Screened in this transaction; holder names never change (a correction is a new
    # beneficiary), so creation is the only screening besides a list reload's.
    beneficiary_screen(actor=actor, beneficiary=beneficiary)
    return beneficiary


@service_transaction
def beneficiary_deactivate(
    *, actor: Actor, beneficiary: Beneficiary | int, reason: str = ""
) -> Beneficiary:
    """Stop paying this beneficiary. Deactivating twice is refused (409), nothing changed."""
    pk = beneficiary.pk if isinstance(beneficiary, Beneficiary) else beneficiary
    # Why the lock: an operator and the customer's API call may deactivate at the same time;
    # FOR UPDATE makes the second see the first's result and refuse, instead of both writing
    # an audit row and an event for one fact.
    locked = Beneficiary.objects.select_for_update().get(pk=pk)
    if not locked.is_active:
        raise TransitionNotAllowed(f"Beneficiary {locked.pk} is already deactivated")
    reason = (reason or "").strip()
    if len(reason) > 2000:
        raise ValidationFailed(
            [FieldError("reason", "too_long", "must be at most 2000 characters")]
        )
    locked.is_active = False
    locked.deactivated_at = timezone.now()
    with pghistory.context(actor=actor.label, reason=reason, request_id=actor.request_id):
        locked.save(update_fields=["is_active", "deactivated_at"])
    audit_record(actor=actor, action="beneficiary.deactivated", target=locked, reason=reason)
    event_emit(
        type="beneficiary.deactivated", profile_id=locked.profile_id, payload=_event_payload(locked)
    )
    return locked
