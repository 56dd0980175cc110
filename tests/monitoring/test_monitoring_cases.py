"""Alerts are worked in compliance cases: raising one opens (or joins) the profile's case in
the same transaction, and only the case's decision releases or keeps the hold."""

from __future__ import annotations

import pytest

from fintech.compliance.cases.services import (
    case_close_cleared,
    case_close_reported,
    case_start_investigation,
)
from fintech.compliance.models import Case, CaseItem
from fintech.core.errors import ComplianceHold
from fintech.core.models import OutboxEvent
from fintech.monitoring.models import MonitoringAlert
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_fund, transfer_submit
from tests.monitoring.conftest import CARLA, save_rule
from tests.transfers.conftest import OPS

pytestmark = pytest.mark.django_db


def test_an_alert_opens_a_case_and_the_cases_clearing_releases_the_transfer(pay) -> None:
    save_rule("large_amount", amount_minor=100, name="Large GBP")
    first, second = pay("250.00"), pay("300.00")
    alerts = list(MonitoringAlert.objects.order_by("pk"))
    assert [a.transfer_id for a in alerts] == [first.pk, second.pk]

    case = Case.objects.get()  # both alerts in the profile's one active case
    assert case.profile_id == first.profile_id
    assert sorted(CaseItem.objects.filter(case=case).values_list("source", "source_id")) == [
        ("monitoring_alert", alerts[0].pk),
        ("monitoring_alert", alerts[1].pk),
    ]
    assert not OutboxEvent.objects.filter(type__startswith="case.", profile_id__isnull=False)

    transfer_fund(actor=OPS, transfer_id=first.pk)
    with pytest.raises(ComplianceHold):
        transfer_submit(actor=OPS, transfer_id=first.pk)

    case_start_investigation(actor=CARLA, case_id=case.pk, note="looking")
    case_close_cleared(actor=CARLA, case_id=case.pk, note="regular supplier payments")
    assert set(MonitoringAlert.objects.values_list("status", flat=True)) == {"cleared"}
    assert transfer_submit(actor=OPS, transfer_id=first.pk).state == "processing"


def test_a_reported_case_keeps_the_hold_and_may_cancel_the_transfer(pay) -> None:
    save_rule("large_amount", amount_minor=100, name="Large GBP")
    transfer = pay("250.00")
    transfer_fund(actor=OPS, transfer_id=transfer.pk)
    case = Case.objects.get()

    case_start_investigation(actor=CARLA, case_id=case.pk, note="looking")
    case_close_reported(actor=CARLA, case_id=case.pk, note="filed", cancel_transfers=True)

    assert MonitoringAlert.objects.get().status == "confirmed"
    assert Transfer.objects.get(pk=transfer.pk).state == Transfer.State.CANCELLED
