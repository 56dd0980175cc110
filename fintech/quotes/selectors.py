"""Quote reads, always scoped to the profile asking."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from fintech.core.errors import NotFound
from fintech.customers.models import Profile
from fintech.quotes.models import Quote


def quote_get(profile: Profile, quote_id: uuid.UUID | str) -> Quote:
    """The profile's quote; another profile's quote, or a malformed id, is NotFound."""
    try:
        key = quote_id if isinstance(quote_id, uuid.UUID) else uuid.UUID(str(quote_id))
    except ValueError as exc:
        raise NotFound(f"quote {quote_id} not found") from exc
    try:
        return Quote.objects.get(profile=profile, pk=key)
    except Quote.DoesNotExist as exc:
        raise NotFound(f"quote {quote_id} not found") from exc


def quote_list(profile: Profile) -> QuerySet[Quote]:
    return Quote.objects.filter(profile=profile).order_by("-created_at")
