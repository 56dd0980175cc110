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

from typing import Any

from fintech.disputes.models import Dispute
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_refund
from fintech.wallets.services import DEFAULT_FUNDING_PARTNER
from ledger import chart
from ledger.services import hold_place, hold_void


def hold_key(dispute: Dispute) -> str:
    return f"dispute:{dispute.pk}:hold"


def dispute_hold_place(dispute: Dispute) -> int:
    """Reserve the disputed amount; returns the ledger hold's id (idempotent on the dispute)."""
    account = chart.funding_partner_account(
        partner=DEFAULT_FUNDING_PARTNER, currency=dispute.currency
    )
    hold = hold_place(
        account_id=account.pk,
        amount_minor=dispute.amount_minor,
        idempotency_key=hold_key(dispute),
        memo=f"dispute {dispute.pk} on transfer {dispute.transfer.reference}",
    )
    return int(hold.pk)


def dispute_hold_release(dispute: Dispute, *, reason: str) -> None:
    if dispute.hold_id is not None:
        hold_void(hold_id=dispute.hold_id, reason=reason)  # idempotent for a voided hold


def dispute_refund(dispute: Dispute, *, actor: Any, reason: str) -> bool:
    """Refund the transfer once: False when it was already refunded (by the partner's return,
    say), so a lost dispute never posts a second refund. The caller holds the dispute's lock;
    transfer_refund locks the transfer and its FSM refuses a second refund anyway."""
    state = Transfer.objects.filter(pk=dispute.transfer_id).values_list("state", flat=True).get()
    if state == Transfer.State.REFUNDED:
        return False
    transfer_refund(actor=actor, transfer_id=dispute.transfer_id, reason=reason)
    return True
