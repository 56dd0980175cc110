"""A transfer's money in the ledger: which entries each step posts (see docs/ledger.md).

The ledger's `transfer_postings` holds the postings; this module describes a transfer's
money in the ledger's plain terms and announces every entry as a `ledger.entry.created`
event. Called by the transfer services inside the transaction of each FSM transition.
"""

from __future__ import annotations

from collections.abc import Callable

from fintech.core.money import convert_minor
from fintech.transfers.models import Transfer
from fintech.wallets.selectors import wallet_owner
from fintech.wallets.services import DEFAULT_FUNDING_PARTNER, ledger_entries_announce
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


def _post(transfer: Transfer, step: Callable[[], list[JournalEntry]]) -> list[JournalEntry]:
    entries = step()
    ledger_entries_announce(entries=entries, profile_id=transfer.profile_id)
    return entries


def post_fund(transfer: Transfer, source_state: str) -> list[JournalEntry]:
    money = transfer_money(transfer)
    return _post(transfer, lambda: [ledger_steps.fund(money)])


def post_submit(transfer: Transfer, source_state: str) -> list[JournalEntry]:
    money = transfer_money(transfer)
    return _post(transfer, lambda: [ledger_steps.submit(money)])


def post_complete(transfer: Transfer, source_state: str) -> list[JournalEntry]:
    money = transfer_money(transfer)
    return _post(transfer, lambda: [ledger_steps.complete(money)])


def post_fail(transfer: Transfer, source_state: str) -> list[JournalEntry]:
    money = transfer_money(transfer)
    return _post(transfer, lambda: ledger_steps.fail(money))


def post_cancel(transfer: Transfer, source_state: str) -> list[JournalEntry]:
    if source_state == Transfer.State.CREATED:
        return []  # nothing was posted, nothing to give back
    money = transfer_money(transfer)
    submitted = source_state == Transfer.State.PROCESSING
    return _post(transfer, lambda: ledger_steps.cancel(money, submitted=submitted))


def post_refund(transfer: Transfer, source_state: str) -> list[JournalEntry]:
    money = transfer_money(transfer)
    completed = source_state == Transfer.State.COMPLETED
    return _post(transfer, lambda: ledger_steps.refund(money, completed=completed))
