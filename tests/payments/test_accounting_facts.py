"""The bill an ERP payment request settles reaches the accounting sync: the transfer's facts
name it, so the customer's books get a bill payment against that bill (Xero: a Payment of
the ACCPAY invoice; QuickBooks: a BillPayment), else a plain spend."""

from __future__ import annotations

import pytest

from fintech.core.services import Actor
from fintech.transfers.services import transfer_submit
from integrations.connectors.accounting.facts import transfer_facts
from tests.payments.conftest import body, dispatch_pending, request_body, sync_vendor

pytestmark = pytest.mark.django_db
PARTNER = Actor.system("test-partner")


def test_a_payment_requests_bill_reaches_the_transfers_accounting_facts(
    erp_api, no_vendor_approval
):
    sync_vendor(erp_api)
    made = body(
        erp_api.post(
            "/payment-requests",
            request_body(erp_payment_id="PAY-BILL", bill_reference="BILL-2026-0042"),
        )
    )
    dispatch_pending()
    transfer_submit(actor=PARTNER, transfer_id=made["transfer_id"])
    assert transfer_facts(transfer_id=made["transfer_id"]).bill_reference == "BILL-2026-0042"
