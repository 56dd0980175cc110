"""Our events -> QuickBooks sync jobs (the shared handlers, accounting/handlers.py, with
QuickBooks' actions; docs/quickbooks.md says why these entities):

- `transfer.submitted`: platform books: the Customer, then a JournalEntry for the fee (owed
  by the Customer: an Accounts Receivable line) and one for the FX margin.
- `transfer.completed`: platform books: a Payment applied to the fee journal (the fee paid
  from the money the customer paid in; Xero's fee invoice Payment likewise); the customer's
  books: the supplier payout (a BillPayment of the bill it names, else a Purchase).
- `transfer.failed`: an exception for operators, what had not reached QuickBooks skipped, the
  two journals mirrored by reversing JournalEntries (nothing is deleted).
- `payment.refunded`: the paid fee given back by a RefundReceipt, the margin journal mirrored.
- `wallet.funded`: a Deposit into client money (the platform's books) or into the wallet
  (the customer's books).
"""

from __future__ import annotations

from integrations.connectors.accounting.handlers import Plan, handlers_for
from integrations.connectors.accounting.quickbooks.client import PROVIDER

PLAN = Plan(
    provider=PROVIDER,
    label="QuickBooks",
    submitted=("fee_journal", "fx_margin_journal"),
    completed=("fee_payment", "fee_journal"),
    reversals={"fee_journal": "fee_reversal", "fx_margin_journal": "fx_margin_reversal"},
    reversed_by="reversing journal entries",  # said on a failure (a refund: RefundReceipt)
)
HANDLERS = handlers_for(PLAN)
