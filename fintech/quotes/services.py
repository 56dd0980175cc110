"""Quote writes. A quote prices one conversion and is valid until `expires_at`."""

from __future__ import annotations

import datetime as dt

import pghistory
from django.conf import settings
from django.utils import timezone

from fintech.core.errors import FieldError, ValidationFailed
from fintech.core.money import format_minor, parse_amount, validate_currency
from fintech.core.services import Actor, audit_record, event_emit
from fintech.core.sql import insert
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile
from fintech.quotes import pricing
from fintech.quotes.models import Quote
from fintech.quotes.rates import get_rate_provider


def _validated_pair(source_currency: object, target_currency: object) -> tuple[str, str]:
    errors: list[FieldError] = []
    checked: dict[str, str] = {}
    for field, value in (
        ("source_currency", source_currency),
        ("target_currency", target_currency),
    ):
        try:
            checked[field] = validate_currency(value, field=field)
        except ValidationFailed as exc:
            errors.extend(exc.fields)
    if errors:
        raise ValidationFailed(errors)
    source, target = checked["source_currency"], checked["target_currency"]
    if source == target:
        raise ValidationFailed(
            [FieldError("target_currency", "same_currency", "must differ from source_currency")]
        )
    return source, target


def _fixed_amount(
    *, source: str, target: str, source_amount: object, target_amount: object
) -> tuple[Quote.FixedSide, int]:
    """Which side is fixed, and its amount in minor units of that side's currency."""
    if (source_amount is None) == (target_amount is None):
        message = "give exactly one of source_amount and target_amount"
        raise ValidationFailed(
            [
                FieldError("source_amount", "exactly_one_amount", message),
                FieldError("target_amount", "exactly_one_amount", message),
            ]
        )
    if source_amount is not None:
        return Quote.FixedSide.SOURCE, parse_amount(
            source_amount, currency=source, field="source_amount"
        )
    return Quote.FixedSide.TARGET, parse_amount(
        target_amount, currency=target, field="target_amount"
    )


@service_transaction
def quote_create(
    *,
    actor: Actor,
    profile: Profile,
    source_currency: str,
    target_currency: str,
    source_amount: str | None = None,
    target_amount: str | None = None,
) -> Quote:
    """Price a conversion for `profile`. Amounts are decimal strings in major units; exactly one
    of them is fixed. Raises ValidationFailed naming the offending field; nothing is saved then."""
    source, target = _validated_pair(source_currency, target_currency)
    # Validate everything before asking for a rate: a bad request costs no provider call.
    fixed_side, amount_minor = _fixed_amount(
        source=source, target=target, source_amount=source_amount, target_amount=target_amount
    )
    rate = get_rate_provider().mid_rate(source, target)
    if fixed_side == Quote.FixedSide.SOURCE:
        price = pricing.price_fixed_source(
            source_minor=amount_minor, source=source, target=target, mid=rate.rate
        )
    else:
        price = pricing.price_fixed_target(
            target_minor=amount_minor, source=source, target=target, mid=rate.rate
        )
    now = timezone.now()
    with pghistory.context(actor=actor.label, request_id=actor.request_id):
        quote = insert(
            Quote(
                profile=profile,
                source_currency=source,
                target_currency=target,
                fixed_side=fixed_side,
                source_amount_minor=price.source_amount_minor,
                target_amount_minor=price.target_amount_minor,
                fee_minor=price.fee_minor,
                fee_fixed_minor=price.fee_rule.fixed_minor(source),
                fee_bps=price.fee_rule.bps,
                mid_rate=rate.rate,
                customer_rate=price.customer_rate,
                margin_bps=pricing.MARGIN_BPS,
                rounding_mode=pricing.ROUNDING_MODE,
                rate_source=rate.source,
                rate_time=rate.at,
                expires_at=now + dt.timedelta(seconds=settings.QUOTE_TTL_SECONDS),
                delivery_estimate=pricing.delivery_estimate(target=target, start=now),
            )
        )
        audit_record(
            actor=actor,
            action="quote.create",
            target=quote,
            data={
                "fixed_side": fixed_side,
                "source": f"{format_minor(quote.source_amount_minor, source)} {source}",
                "target": f"{format_minor(quote.target_amount_minor, target)} {target}",
                "fee_minor": quote.fee_minor,
                "mid_rate": str(quote.mid_rate),
                "customer_rate": str(quote.customer_rate),
                "rate_source": quote.rate_source,
            },
        )
        event_emit(type="quote.created", payload=quote_payload(quote), profile_id=profile.pk)
    return quote


def quote_payload(quote: Quote) -> dict[str, str]:
    """The API's view of a quote: decimal strings in major units, ISO times."""
    return {
        "id": str(quote.pk),
        "source_currency": quote.source_currency,
        "target_currency": quote.target_currency,
        "source_amount": format_minor(quote.source_amount_minor, quote.source_currency),
        "target_amount": format_minor(quote.target_amount_minor, quote.target_currency),
        "fee": format_minor(quote.fee_minor, quote.source_currency),
        "rate": str(quote.customer_rate),
        "expires_at": quote.expires_at.isoformat(),
        "delivery_estimate": quote.delivery_estimate.isoformat(),
    }
