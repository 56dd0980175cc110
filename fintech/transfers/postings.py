"""A transfer's money in the ledger: which entries each step posts (see docs/ledger.md).

The ledger's `transfer_postings` holds the postings; this module describes a transfer's
money in the ledger's plain terms and picks the step. Called by the transfer services inside
the transaction of each FSM transition (which also announce each entry as an event).
"""

from __future__ import annotations

from fintech.core.money import convert_minor
from fintech.transfers.models import Transfer
from fintech.wallets.selectors import wallet_owner
from fintech.wallets.services import DEFAULT_FUNDING_PARTNER
from ledger import transfer_postings as ledger_steps

# The entry type, for annotations only (fintech never imports ledger.models).
JournalEntry = ledger_steps.JournalEntry

# The payout rail transfers go out through, until a payout connector names its own.
DEFAULT_PAYOUT_PARTNER = "sandbox-payout"


def transfer_money(transfer: Transfer) -> ledger_steps.TransferMoney:
    """The transfer's amounts in minor units, with the FX margin the quote earned.

    Margin M = (S - F) converted at mid, minus T: what the converted amount is worth at mid
    minus what the beneficiary gets at the customer rate, rounded with the quote's mode.
    """
    quote = transfer.quote
    converted_at_mid = convert_minor(
        transfer.source_amount_minor - transfer.fee_minor,
        rate=quote.mid_rate,
        source=transfer.source_currency,
        target=transfer.target_currency,
        rounding=quote.rounding_mode,
    )
    return ledger_steps.TransferMoney(
        reference=transfer.reference,
        owner=wallet_owner(transfer.profile_id),
        source_currency=transfer.source_currency,
        source_minor=transfer.source_amount_minor,
        fee_minor=transfer.fee_minor,
        target_currency=transfer.target_currency,
        target_minor=transfer.target_amount_minor,
        margin_minor=converted_at_mid - transfer.target_amount_minor,
        funding_partner=DEFAULT_FUNDING_PARTNER,
        payout_partner=DEFAULT_PAYOUT_PARTNER,
    )


def post_fund(transfer: Transfer, source_state: str) -> list[JournalEntry]:
    return [ledger_steps.fund(transfer_money(transfer))]


def post_submit(transfer: Transfer, source_state: str) -> list[JournalEntry]:
    return [ledger_steps.submit(transfer_money(transfer))]


def post_complete(transfer: Transfer, source_state: str) -> list[JournalEntry]:
    return [ledger_steps.complete(transfer_money(transfer))]


def post_fail(transfer: Transfer, source_state: str) -> list[JournalEntry]:
    return ledger_steps.fail(transfer_money(transfer))


def post_cancel(transfer: Transfer, source_state: str) -> list[JournalEntry]:
    if source_state == Transfer.State.CREATED:
        return []  # nothing was posted, nothing to give back
    submitted = source_state == Transfer.State.PROCESSING
    return ledger_steps.cancel(transfer_money(transfer), submitted=submitted)


def post_refund(transfer: Transfer, source_state: str) -> list[JournalEntry]:
    completed = source_state == Transfer.State.COMPLETED
    return ledger_steps.refund(transfer_money(transfer), completed=completed)
