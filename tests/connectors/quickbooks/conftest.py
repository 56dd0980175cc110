"""The Xero tests' builders (alice's suppliers, `send`) serve QuickBooks too, with QuickBooks'
account ids for the roles."""

from __future__ import annotations

from tests.connectors.xero.conftest import alice_suppliers as alice_suppliers
from tests.connectors.xero.conftest import send as send

PLATFORM_ROLES = {
    "client_money": "35",
    "fee_revenue": "79",
    "fx_margin_revenue": "80",
    "customer_funds": "92",
    "payout_clearing": "93",
    "fx_position": "94",
}
CUSTOMER_ROLES = {
    "wallet_bank": "36",
    "payout_clearing": "95",
    "bank_fees": "8",
    "funding_clearing": "96",
}
