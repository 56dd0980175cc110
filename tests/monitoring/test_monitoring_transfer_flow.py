"""Rules in the transfer flow: a hit holds (never refuses) the transfer, submit refuses a held
one, clearing releases it, confirming keeps it; the nightly run alerts once."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from fintech.core.errors import ComplianceHold, TransitionNotAllowed, ValidationFailed
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.monitoring.models import MonitoringAlert, MonitoringRule
from fintech.monitoring.services import (
    monitoring_alert_clear,
    monitoring_alert_confirm,
    monitoring_nightly_run,
    monitoring_rule_save,
)
from fintech.transfers.services import transfer_fund, transfer_submit
from integrations.webhooks.services import deliveries_create_for_event, endpoint_create
from tests.builders import build_beneficiary
from tests.monitoring.conftest import CARLA, save_rule
from tests.transfers.conftest import ALICE, OPS

pytestmark = pytest.mark.django_db


def alerts_on(transfer) -> list[MonitoringAlert]:
    return list(MonitoringAlert.objects.filter(transfer=transfer).order_by("pk"))


def test_a_large_transfer_is_created_held_and_submit_refuses_it_until_cleared(pay) -> None:
    rule = save_rule("large_amount", amount_minor=25_000)
    transfer = pay("250.00")
    assert transfer.source_amount_minor == 25_000
    [alert] = alerts_on(transfer)
    assert (alert.rule, alert.status, alert.score, alert.raised_by) == (
        rule,
        "open",
        70,
        "transfer",
    )
    assert alert.facts["amount_minor"] == 25_000
    assert alert.facts["threshold_minor"] == 25_000

    transfer_fund(actor=OPS, transfer_id=transfer.pk)  # funding is not refused
    with pytest.raises(ComplianceHold) as refused:
        transfer_submit(actor=OPS, transfer_id=transfer.pk)
    assert (refused.value.code, refused.value.status) == ("compliance_hold", 409)
    # It says that it is held, never why.
    assert rule.name not in refused.value.message
    assert "large" not in refused.value.message
    transfer.refresh_from_db()
    assert transfer.state == "funded"

    monitoring_alert_clear(actor=CARLA, alert=alert, note="regular supplier payment, invoice seen")
    assert transfer_submit(actor=OPS, transfer_id=transfer.pk).state == "processing"


def test_just_below_the_threshold_nothing_is_raised(pay) -> None:
    save_rule("large_amount", amount_minor=25_001)
    transfer = pay("250.00")
    assert alerts_on(transfer) == []
    transfer_fund(actor=OPS, transfer_id=transfer.pk)
    assert transfer_submit(actor=OPS, transfer_id=transfer.pk).state == "processing"


def test_inactive_and_out_of_scope_rules_do_nothing(pay) -> None:
    save_rule("large_amount", amount_minor=1, is_active=False)
    save_rule("large_amount", amount_minor=1, source_currency="EUR")
    save_rule("large_amount", amount_minor=1, profile_kind="personal")  # alice is a business
    save_rule("high_risk_corridor", amount_minor=1, beneficiary_country="IR")
    assert alerts_on(pay("250.00")) == []


def test_a_confirmed_alert_keeps_the_hold_and_decisions_happen_once(pay) -> None:
    save_rule("round_amount", amount_minor=10_000, round_unit_minor=10_000)
    transfer = pay("300.00")
    [alert] = alerts_on(transfer)
    transfer_fund(actor=OPS, transfer_id=transfer.pk)

    with pytest.raises(ValidationFailed, match="note"):
        monitoring_alert_confirm(actor=CARLA, alert=alert, note=" ")
    confirmed = monitoring_alert_confirm(actor=CARLA, alert=alert, note="third round sum today")
    assert (confirmed.status, confirmed.decided_by) == ("confirmed", "user:carla")
    with pytest.raises(TransitionNotAllowed):
        monitoring_alert_clear(actor=CARLA, alert=alert, note="changed my mind")
    with pytest.raises(ComplianceHold):
        transfer_submit(actor=OPS, transfer_id=transfer.pk)

    actions = list(
        AuditEvent.objects.filter(target_id=str(alert.pk), action__startswith="monitoring.alert")
        .order_by("id")
        .values_list("action", "reason")
    )
    assert actions == [
        ("monitoring.alert_raised", ""),
        ("monitoring.alert_confirmed", "third round sum today"),
    ]


def test_every_hit_holds_until_each_alert_is_cleared(pay) -> None:
    save_rule("large_amount", amount_minor=20_000)
    save_rule("round_amount", amount_minor=10_000, round_unit_minor=5_000)
    transfer = pay("250.00")
    first, second = alerts_on(transfer)
    transfer_fund(actor=OPS, transfer_id=transfer.pk)
    monitoring_alert_clear(actor=CARLA, alert=first, note="known supplier")
    with pytest.raises(ComplianceHold):
        transfer_submit(actor=OPS, transfer_id=transfer.pk)
    monitoring_alert_clear(actor=CARLA, alert=second, note="invoice for 250.00 seen")
    assert transfer_submit(actor=OPS, transfer_id=transfer.pk).state == "processing"


@pytest.mark.parametrize(("limit", "held"), [(3, True), (4, False)])
def test_velocity_count_window_excludes_its_far_edge(pay, limit: int, held: bool) -> None:
    save_rule("velocity_count", count=limit, window_hours=24, source_currency="")
    now = timezone.now()
    # At exactly 24 hours before: outside the window; 23:59 before: inside.
    for ago in (dt.timedelta(hours=24), dt.timedelta(hours=23, minutes=59), dt.timedelta(hours=1)):
        with time_machine.travel(now - ago, tick=False):
            pay("10.00")
    with time_machine.travel(now, tick=False):
        transfer = pay("10.00")
    alerts = alerts_on(transfer)
    assert bool(alerts) is held
    if held:
        assert alerts[0].facts["count"] == 3  # two earlier in the window, and this one


def test_velocity_volume_in_the_window(pay) -> None:
    save_rule("velocity_volume", amount_minor=60_000, window_hours=24)
    with time_machine.travel(timezone.now() - dt.timedelta(hours=24), tick=False):
        pay("500.00")  # at the window's far edge: outside
    pay("250.00")
    pay("250.00")
    assert alerts_on(pay("99.99")) == []  # 59,999 in the window
    [alert] = alerts_on(pay("100.00"))
    assert alert.facts["volume_minor"] == 69_999


def test_structuring_many_payments_just_below_the_threshold(pay) -> None:
    save_rule("structuring", amount_minor=100_000, band_minor=10_000, count=3, window_hours=72)
    assert alerts_on(pay("950.00")) == []
    assert alerts_on(pay("1000.00")) == []  # at the threshold: not in the band
    assert alerts_on(pay("899.99")) == []  # below the band
    assert alerts_on(pay("900.00")) == []  # the band's bottom edge: the second in it
    [alert] = alerts_on(pay("999.99"))  # the third in the band
    assert alert.facts["in_band"] == 3
    assert alert.facts["band_minor"] == [90_000, 100_000]


def test_a_new_beneficiary_receiving_a_large_amount(alice, pay) -> None:
    save_rule("new_beneficiary_large", amount_minor=25_000, window_hours=48)
    with time_machine.travel(timezone.now() - dt.timedelta(hours=48), tick=False):
        old = build_beneficiary(profile=alice, currency="EUR", holder_name="Old Partner GmbH")
    fresh = build_beneficiary(profile=alice, currency="EUR", holder_name="New Partner GmbH")
    assert alerts_on(pay("250.00", beneficiary=old)) == []
    assert alerts_on(pay("249.99", beneficiary=fresh)) == []
    [alert] = alerts_on(pay("250.00", beneficiary=fresh))
    assert alert.facts["beneficiary_age_hours"] < 1


def test_a_high_risk_corridor(pay) -> None:
    save_rule("high_risk_corridor", amount_minor=1, beneficiary_country="DE", target_currency="EUR")
    [alert] = alerts_on(pay("10.00"))
    assert alert.facts["corridor"] == "GBP->EUR DE"


def test_a_dormant_profile_waking_up(pay) -> None:
    save_rule("dormant_wakeup", amount_minor=10_000, window_hours=90 * 24)
    now = timezone.now()
    assert alerts_on(pay("100.00")) == []  # a new customer is not dormant
    with time_machine.travel(now + dt.timedelta(days=89), tick=False):
        assert alerts_on(pay("100.00")) == []
    with time_machine.travel(now + dt.timedelta(days=89 + 90), tick=False):
        assert alerts_on(pay("99.99")) == []  # quiet long enough, but small
    with time_machine.travel(now + dt.timedelta(days=89 + 90, seconds=1), tick=False):
        # The small one just now was a sign of life.
        assert alerts_on(pay("100.00")) == []
    with time_machine.travel(now + dt.timedelta(days=89 + 180, seconds=1), tick=False):
        [alert] = alerts_on(pay("100.00"))
    assert alert.facts["quiet_for_at_least_hours"] == 90 * 24


def test_the_nightly_run_catches_up_once(pay) -> None:
    early = [pay("250.00"), pay("250.00")]
    rule = save_rule("large_amount", amount_minor=25_000)  # switched on after them
    later = pay("250.00")  # judged at creation
    assert len(alerts_on(later)) == 1

    assert monitoring_nightly_run() == 2
    assert monitoring_nightly_run() == 0
    call_command("monitoring_run", "--hours", "48")
    assert [len(alerts_on(t)) for t in [*early, later]] == [1, 1, 1]
    assert {a.raised_by for a in rule.alerts.all()} == {"nightly", "transfer"}
    # Too old for the look-back: not judged.
    with time_machine.travel(timezone.now() - dt.timedelta(hours=49), tick=False):
        old = pay("250.00")
    MonitoringAlert.objects.filter(transfer=old).delete()
    assert monitoring_nightly_run() == 0
    assert monitoring_nightly_run(lookback_hours=50) == 1


def test_events_carry_no_profile_and_never_reach_customer_webhooks(alice, pay) -> None:
    endpoint_create(actor=ALICE, profile=alice, url="https://erp.example.com/hooks")
    save_rule("large_amount", amount_minor=1)
    [alert] = alerts_on(pay("250.00"))
    monitoring_alert_clear(actor=CARLA, alert=alert, note="fine")

    events = list(
        OutboxEvent.objects.filter(type__startswith="monitoring.").order_by("occurred_at")
    )
    assert [(e.type, e.profile_id) for e in events] == [
        ("monitoring.alert_raised", None),
        ("monitoring.alert_cleared", None),
    ]
    assert [deliveries_create_for_event(event=e) for e in events] == [[], []]
    initiated = OutboxEvent.objects.get(type="transfer.initiated")
    assert "monitoring" not in str(initiated.payload)
    assert len(deliveries_create_for_event(event=initiated)) == 1  # the endpoint does listen


def test_saving_an_impossible_rule_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        save_rule("structuring", amount_minor=100_000, band_minor=150_000, count=3, window_hours=24)
    assert [(f.field, f.code) for f in refused.value.fields] == [("band_minor", "band_too_wide")]
    assert not MonitoringRule.objects.exists()

    rule = save_rule("velocity_count", count=5, window_hours=24, source_currency="")
    rule.window_hours = 0
    with pytest.raises(ValidationFailed, match="window_hours"):
        monitoring_rule_save(actor=CARLA, rule=rule)
    rule.refresh_from_db()
    assert rule.window_hours == 24
    assert list(
        AuditEvent.objects.filter(action__startswith="monitoring.rule").values_list(
            "action", "actor_label"
        )
    ) == [("monitoring.rule_created", "user:carla")]
