"""The ERP check on real PostgreSQL, with payment requests made through the ERP API: every
executed request matches exactly one transfer of its amount, currency and vendor. Each
injected fault (the transfer's amount off by one minor unit, another currency, the request
no longer linked to its transfer) opens exactly one mismatch in a run, for that request."""

from __future__ import annotations

import pytest
from django.db.models import F
from django.utils import timezone

from fintech.payments.models import PaymentRequest
from fintech.transfers.models import Transfer
from integrations.reconciliation.checks import CHECKS, CheckContext
from integrations.reconciliation.models import Mismatch
from integrations.reconciliation.runs import reconciliation_run
from tests.payments.conftest import (
    _fast_secret_hashing,  # noqa: F401 (autouse fixture)
    body,
    request_body,
    sync_vendor,
)

pytestmark = pytest.mark.django_db


def erp_mismatches() -> list[Mismatch]:
    return list(
        Mismatch.objects.filter(
            check_name="erp_payment_transfer", state__in=["open", "investigating"]
        )
    )


def inject(fault: str, request: PaymentRequest) -> None:
    transfer = Transfer.objects.filter(pk=request.transfer_id)
    if fault == "amount":
        transfer.update(target_amount_minor=F("target_amount_minor") + 1)
    elif fault == "currency":
        transfer.update(target_currency="USD")
    else:  # the request lost its link: made as one transfer, linked to none
        PaymentRequest.objects.filter(pk=request.pk).update(transfer=None)


@pytest.mark.parametrize("fault", ["amount", "currency", "unlinked"])
def test_each_fault_in_an_erp_payment_opens_exactly_one_mismatch(
    erp_api, no_vendor_approval, fault
):
    sync_vendor(erp_api)
    made = []
    for n in range(2):
        response = erp_api.post("/payment-requests", request_body(erp_payment_id=f"PAY-{n}"))
        assert response.status_code == 201, response.content
        assert body(response)["state"] == "transfer_created"
        made.append(PaymentRequest.objects.get(pk=body(response)["id"]))
    check = CHECKS["erp_payment_transfer"]
    as_of = timezone.localdate()

    assert check.func(CheckContext(as_of=as_of, known_at=timezone.now())) == []
    reconciliation_run(as_of=as_of)
    assert erp_mismatches() == []

    inject(fault, made[1])
    run = reconciliation_run(as_of=as_of)

    (mismatch,) = erp_mismatches()
    assert mismatch.key == f"erp:{made[1].pk}"
    assert run.counts["checks"]["erp_payment_transfer"] == 1
