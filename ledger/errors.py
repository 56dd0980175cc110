"""Typed ledger errors with stable machine codes.

Every refusal raised by `ledger.services` is a `LedgerError`, raised before anything is
written (or inside the atomic block that rolls it back), so a caller that catches one has
changed nothing. Clients branch on `code`, never on the message. `status` is the HTTP
status an API layer should answer with; the ledger itself knows nothing about HTTP
(it imports nothing from `fintech`), so the API's error handler maps these by duck type:
`code`, `status`, `title`, `message` mirror `fintech.core.errors.DomainError`.
"""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    code = "ledger_error"
    status = 400
    title = "The ledger refused the operation"

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.title
        self.details = details
        super().__init__(self.message)


class InvalidPosting(LedgerError):
    code = "invalid_posting"
    title = "A posting is malformed"


class ZeroOrNegativeAmount(InvalidPosting):
    code = "amount_not_positive"
    title = "Amounts must be positive integers in minor units"


class InvalidCurrency(InvalidPosting):
    code = "invalid_currency"
    title = "Not an ISO 4217 currency with a minor unit"


class UnbalancedEntry(LedgerError):
    code = "unbalanced_entry"
    status = 422
    title = "Debits and credits of the entry do not balance per currency"


class MixedCurrency(UnbalancedEntry):
    """Totals match across currencies but not within each one (e.g. debit GBP, credit EUR)."""

    code = "mixed_currency"
    title = "Debits and credits must balance within each currency"


class CurrencyMismatch(LedgerError):
    code = "currency_mismatch"
    status = 422
    title = "A posting's currency differs from its account's"


class UnknownAccount(LedgerError):
    code = "unknown_account"
    status = 404
    title = "No such ledger account"


class AccountClosed(LedgerError):
    code = "account_closed"
    status = 409
    title = "The account is closed"


class AccountExists(LedgerError):
    code = "account_exists"
    status = 409
    title = "An account with this code already exists with other attributes"


class AccountNotEmpty(LedgerError):
    code = "account_not_empty"
    status = 409
    title = "Only an account with a zero balance and no active holds can be closed"


class UnknownEntry(LedgerError):
    code = "unknown_entry"
    status = 404
    title = "No such journal entry"


class ReversalOfReversal(LedgerError):
    code = "reversal_of_reversal"
    status = 409
    title = "A reversing entry cannot itself be reversed; post a new entry instead"


class AlreadyReversed(LedgerError):
    code = "already_reversed"
    status = 409
    title = "The entry has already been reversed"


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"
    status = 409
    title = "The account's available balance does not cover the amount"


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"
    status = 422
    title = "This idempotency key was already used for a different operation"


class UnknownHold(LedgerError):
    code = "unknown_hold"
    status = 404
    title = "No such hold"


class HoldNotActive(LedgerError):
    code = "hold_not_active"
    status = 409
    title = "The hold is no longer active"


class HoldAmountExceeded(LedgerError):
    code = "hold_amount_exceeded"
    status = 422
    title = "A capture cannot exceed the amount held"
