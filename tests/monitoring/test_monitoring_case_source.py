"""The case-source callbacks: release clears an open alert,
confirm confirms it, both leave an alert decided their way alone, a confirmed one is not
released, and the described facts and held transfer are the alert's."""

from __future__ import annotations

import pytest

from fintech.core.errors import ComplianceHold, Conflict, TransitionNotAllowed
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.monitoring import case_source
from fintech.monitoring.models import MonitoringAlert
from fintech.monitoring.services import alert_summary, monitoring_alert_confirm
from fintech.transfers.services import transfer_fund, transfer_submit
from tests.monitoring.conftest import CARLA, save_rule
from tests.transfers.conftest import OPS

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(pay) -> MonitoringAlert:
    save_rule("large_amount", amount_minor=100, name="Large GBP", jurisdiction="UK")
    return MonitoringAlert.objects.get(transfer=pay("250.00"))


def test_a_case_closed_as_cleared_releases_the_transfer(alert) -> None:
    transfer_fund(actor=OPS, transfer_id=alert.transfer_id)
    assert case_source.transfers(alert.pk) == [alert.transfer_id]
    case_source.release(CARLA, alert.pk, "case 7 cleared")
    case_source.release(CARLA, alert.pk, "again")  # already cleared: left alone
    alert.refresh_from_db()
    assert (alert.status, alert.note) == ("cleared", "case 7 cleared")
    assert transfer_submit(actor=OPS, transfer_id=alert.transfer_id).state == "processing"
    assert case_source.transfers(alert.pk) == []  # paid out: nothing left to hold


def test_a_case_closed_as_reported_keeps_the_hold(alert) -> None:
    transfer_fund(actor=OPS, transfer_id=alert.transfer_id)
    case_source.confirm(CARLA, alert.pk, "case 7 reported")
    case_source.confirm(CARLA, alert.pk, "again")
    alert.refresh_from_db()
    assert (alert.status, alert.note) == ("confirmed", "case 7 reported")
    with pytest.raises(ComplianceHold):
        transfer_submit(actor=OPS, transfer_id=alert.transfer_id)


def test_an_alert_confirmed_outside_the_case_is_not_released_by_it(alert) -> None:
    monitoring_alert_confirm(actor=CARLA, alert=alert, note="confirmed from the queue")
    with pytest.raises(Conflict):
        case_source.release(CARLA, alert.pk, "case cleared")


def test_an_alert_is_decided_once_audited_and_announced_without_its_profile(alert) -> None:
    monitoring_alert_confirm(actor=CARLA, alert=alert.pk, note="structuring, see case")
    with pytest.raises(TransitionNotAllowed):
        monitoring_alert_confirm(actor=CARLA, alert=alert.pk, note="again")
    audits = AuditEvent.objects.filter(action="monitoring.alert_confirmed", target_id=str(alert.pk))
    assert [(a.reason, a.data["from"], a.data["status"]) for a in audits] == [
        ("structuring, see case", "open", "confirmed")
    ]
    event = OutboxEvent.objects.get(type="monitoring.alert_confirmed")
    assert (event.profile_id, event.payload["id"]) == (None, alert.pk)


def test_the_report_carries_the_alerts_facts(alert) -> None:
    facts = case_source.describe(alert.pk)
    assert facts["kind"] == "monitoring_alert"
    assert (facts["rule"], facts["rule_kind"], facts["jurisdiction"]) == (
        "Large GBP",
        "large_amount",
        "UK",
    )
    assert facts["facts"]["amount_minor"] == 25_000
    assert facts["transfer_reference"] == alert.transfer.reference
    assert alert_summary(alert).startswith("Large GBP (large_amount) on transfer TR")
