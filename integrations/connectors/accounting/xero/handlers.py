"""Our events -> Xero sync jobs (the shared handlers, accounting/handlers.py, with Xero's
actions): a submitted transfer's fee invoice and FX margin receipt, the fee invoice's payment
when it completes, a credit note and a margin reversal when it fails or is refunded, a
receipt per wallet funding; in the customer's own books, the supplier payout and fundings."""

from __future__ import annotations

from integrations.connectors.accounting.handlers import Plan, handlers_for
from integrations.connectors.accounting.xero.client import PROVIDER

PLAN = Plan(
    provider=PROVIDER,
    label="Xero",
    submitted=("fee_invoice", "fx_margin"),
    completed=("fee_payment", "fee_invoice"),
    reversals={"fee_invoice": "fee_credit_note", "fx_margin": "fx_margin_reversal"},
    reversed_by="a credit note",
)
HANDLERS = handlers_for(PLAN)
