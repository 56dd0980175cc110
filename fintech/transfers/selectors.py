"""Transfer reads, always scoped to the profile asking (another profile's transfer is NotFound)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from fintech.core.errors import FieldError, NotFound, ValidationFailed
from fintech.core.money import validate_currency
from fintech.customers.models import Profile
from fintech.transfers.models import Transfer, TransferTransition


def _transfers(profile: Profile) -> QuerySet[Transfer]:
    return Transfer.objects.filter(profile=profile).select_related("beneficiary", "quote")


def transfer_get(profile: Profile, id_or_reference: int | str) -> Transfer:
    """By numeric id or by reference ("TR..."), case-insensitive on the reference."""
    transfers = _transfers(profile)
    key = str(id_or_reference).strip()
    if key.isdigit():
        found = transfers.filter(pk=int(key)).first()
    else:
        found = transfers.filter(reference=key.upper()).first()
    if found is None:
        raise NotFound(f"transfer {id_or_reference} not found")
    return found


def transfer_list(
    profile: Profile,
    state: str | None = None,
    currency: str | None = None,
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
) -> QuerySet[Transfer]:
    """Newest first. `currency` matches either side; `created_from` is inclusive,
    `created_to` exclusive."""
    transfers = _transfers(profile)
    if state is not None:
        if state not in Transfer.State.values:
            raise ValidationFailed(
                [
                    FieldError(
                        "state", "invalid_choice", "one of " + ", ".join(Transfer.State.values)
                    )
                ]
            )
        transfers = transfers.filter(state=state)
    if currency is not None:
        code = validate_currency(currency, field="currency")
        transfers = transfers.filter(Q(source_currency=code) | Q(target_currency=code))
    if created_from is not None:
        transfers = transfers.filter(created_at__gte=created_from)
    if created_to is not None:
        transfers = transfers.filter(created_at__lt=created_to)
    return transfers.order_by("-created_at", "-id")


def transfer_timeline(transfer: Transfer) -> QuerySet[TransferTransition]:
    """Every transition of the transfer, oldest first, starting with its creation."""
    return TransferTransition.objects.filter(transfer=transfer).order_by("occurred_at", "id")
