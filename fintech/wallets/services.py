"""Wallet funding: money a customer paid in at one of our funding banks."""

from __future__ import annotations

from typing import Any

from fintech.core.errors import FieldError, ValidationFailed
from fintech.core.money import format_minor, validate_currency
from fintech.core.services import Actor, audit_record, event_emit
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile
from fintech.wallets.selectors import wallet_owner
from ledger import transfer_postings as ledger_steps
from ledger.selectors import entry_by_idempotency_key

# The bank where customers pay in, until a funding-partner connector names its own.
DEFAULT_FUNDING_PARTNER = "sandbox-bank"


@service_transaction
def wallet_fund(
    *,
    actor: Actor,
    profile: Profile,
    currency: str,
    amount_minor: int,
    external_reference: str,
    partner: str = DEFAULT_FUNDING_PARTNER,
) -> int:
    """Credit a profile's wallet with money received at `partner`; returns the entry id.

    Idempotent on (partner, external_reference): the bank's reference of the payment, so a
    statement line imported twice credits the wallet once.
    """
    validate_currency(currency, field="currency")
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise ValidationFailed(
            [FieldError("amount_minor", "amount_not_positive", "must be a positive integer")]
        )
    if not external_reference.strip():
        raise ValidationFailed(
            [FieldError("external_reference", "required", "the bank's payment reference")]
        )
    owner = wallet_owner(profile)
    key = f"wallet-funding:{partner}:{external_reference.strip()}"
    replay = entry_by_idempotency_key(idempotency_key=key) is not None
    entry = ledger_steps.wallet_fund(
        owner=owner,
        currency=currency,
        amount_minor=amount_minor,
        partner=partner,
        key=key,
        memo=f"wallet funding {owner} via {partner} ({external_reference})",
        metadata={"profile_id": profile.pk, "partner": partner},
    )  # the same reference with another amount raises IdempotencyConflict
    if replay:
        # The same bank payment imported again: credited once, audited once.
        return int(entry.pk)
    ledger_entries_announce(entries=[entry], profile_id=profile.pk)
    amount = f"{format_minor(amount_minor, currency)} {currency}"
    audit_record(
        actor=actor,
        action="wallet.fund",
        target=profile,
        data={"entry_id": entry.pk, "amount": amount, "partner": partner,
              "external_reference": external_reference},
    )  # fmt: skip
    event_emit(
        type="wallet.funded",
        payload={"profile_id": profile.pk, "currency": currency,
                 "amount": format_minor(amount_minor, currency), "entry_id": entry.pk},
        profile_id=profile.pk,
    )  # fmt: skip
    return int(entry.pk)


def ledger_entries_announce(*, entries: list[Any], profile_id: int | None) -> None:
    """Emit `ledger.entry.created` for entries just posted (inside the posting transaction)."""
    for entry in entries:
        event_emit(
            type="ledger.entry.created",
            payload={"entry_id": entry.pk, "idempotency_key": entry.idempotency_key,
                     "memo": entry.memo},
            profile_id=profile_id,
        )  # fmt: skip
