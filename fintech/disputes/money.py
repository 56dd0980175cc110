"""A dispute's money in the ledger: a hold while it is open, a refund if it is lost.

Why a hold, not a provisional credit: a provisional credit moves money on the customer's word
and must be clawed back from their wallet when the dispute is won, which can fail (the wallet
has been spent) and leaves two extra entries on every won dispute. A hold moves nothing.

Why the hold is on our funding-bank account, not the customer's wallet: the money a lost
dispute gives back leaves through the transfer's refund (fintech.transfers: back to the payer's
bank, paid from the funding account). Reserving it there earmarks that cash while the dispute is
open and never freezes the complaining customer's own balance (nor refuses the dispute when
their wallet is empty: the account may go negative, so the hold is never refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fintech.customers.models import Profile
from fintech.disputes.models import Dispute
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_refund
from fintech.wallets.selectors import wallet_owner
from fintech.wallets.services import DEFAULT_FUNDING_PARTNER, ledger_entries_announce
from ledger import chart
from ledger.selectors import entry_reversed_by, entry_view
from ledger.services import entry_reverse, hold_place, hold_void

FUNDING_KEY_PREFIX = "wallet-funding:"  # fintech.wallets.services.wallet_fund's entry keys


@dataclass(frozen=True, slots=True)
class Funding:
    entry_id: int
    currency: str
    amount_minor: int
    effective_at: datetime
    returned: bool


def funding_of(profile: Profile, entry_id: int | str | None) -> Funding | None:
    """The wallet funding with this ledger entry id, if it is `profile`'s (None otherwise: another
    profile's entry, or an entry that is not a funding, is "not found", never described)."""
    key = str(entry_id or "").strip()
    entry = entry_view(entry_id=int(key)) if key.isdigit() else None
    if (
        entry is None
        or not entry.idempotency_key.startswith(FUNDING_KEY_PREFIX)
        or entry.metadata.get("profile_id") != profile.pk
    ):
        return None
    credit = next(p for p in entry.postings if p.credit_minor > 0)  # the wallet's side
    return Funding(
        entry_id=entry.id,
        currency=credit.currency,
        amount_minor=credit.credit_minor,
        effective_at=entry.effective_at,
        returned=entry_reversed_by(entry_id=entry.id) is not None,
    )


def hold_key(dispute: Dispute) -> str:
    return f"dispute:{dispute.pk}:hold"


def dispute_hold_place(dispute: Dispute) -> int:
    """Reserve the disputed amount; returns the ledger hold's id (idempotent on the dispute).

    A transfer's dispute holds on our funding account (above); a funding's dispute holds the
    funded money in the customer's wallet, where a lost dispute takes it back from (raises
    InsufficientFunds when it has been spent: wallets never go negative)."""
    if dispute.funding_entry_id is not None:
        account = chart.wallet_account(
            owner=wallet_owner(dispute.profile_id), currency=dispute.currency
        )
    else:
        account = chart.funding_partner_account(
            partner=DEFAULT_FUNDING_PARTNER, currency=dispute.currency
        )
    hold = hold_place(
        account_id=account.pk,
        amount_minor=dispute.amount_minor,
        idempotency_key=hold_key(dispute),
        memo=f"dispute {dispute.pk} on {dispute.subject}",
    )
    return int(hold.pk)


def dispute_hold_release(dispute: Dispute, *, reason: str) -> None:
    if dispute.hold_id is not None:
        hold_void(hold_id=dispute.hold_id, reason=reason)  # idempotent for a voided hold


def dispute_refund(dispute: Dispute, *, actor: Any, reason: str) -> bool:
    """Refund the transfer once: False when it was already refunded (by the partner's return,
    say), so a lost dispute never posts a second refund. The caller holds the dispute's lock;
    transfer_refund locks the transfer and its FSM refuses a second refund anyway.
    A funding's dispute returns the funding instead (funding_return)."""
    if dispute.transfer_id is None:
        return funding_return(dispute, reason=reason)
    state = Transfer.objects.filter(pk=dispute.transfer_id).values_list("state", flat=True).get()
    if state == Transfer.State.REFUNDED:
        return False
    transfer_refund(actor=actor, transfer_id=dispute.transfer_id, reason=reason)
    return True


def funding_return(dispute: Dispute, *, reason: str) -> bool:
    """A lost funding dispute gives the money back to the payer: the funding entry reversed
    (wallet debited, funding bank credited), once. False when it was already reversed."""
    entry_id = dispute.funding_entry_id
    assert entry_id is not None
    if entry_reversed_by(entry_id=entry_id) is not None:
        return False
    entry = entry_reverse(
        entry_id=entry_id,
        idempotency_key=f"dispute:{dispute.pk}:funding-return",
        memo=f"wallet funding {entry_id} returned: dispute {dispute.pk} lost ({reason})"[:500],
        metadata={"profile_id": dispute.profile_id, "dispute_id": dispute.pk},
    )
    ledger_entries_announce(entries=[entry], profile_id=dispute.profile_id)
    return True
