"""many_senders_one_beneficiary through transfer_create and the nightly run: distinct
profiles paying one bank account (by its keyed fingerprint) within the window."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from fintech.beneficiaries.models import Beneficiary
from fintech.monitoring.models import MonitoringAlert
from fintech.monitoring.services import monitoring_nightly_run
from fintech.transfers.models import Transfer
from tests.monitoring.conftest import save_rule

pytestmark = pytest.mark.django_db


def alerts_on(transfer: Transfer) -> list[MonitoringAlert]:
    return list(MonitoringAlert.objects.filter(transfer=transfer))


def test_it_alerts_at_count_distinct_profiles_and_a_profile_paying_twice_counts_once(
    payer,
) -> None:
    save_rule("many_senders_one_beneficiary", count=3, window_hours=24, source_currency="")
    *_, pay_dora = payer("Dora")
    *_, pay_ekow = payer("Ekow")
    *_, pay_fay = payer("Fay")
    assert alerts_on(pay_dora()) == []
    assert alerts_on(pay_dora()) == []  # still one profile
    assert alerts_on(pay_ekow()) == []  # two: count - 1
    [alert] = alerts_on(pay_fay())  # three distinct profiles, each writing the IBAN its way
    assert alert.kind == "many_senders_one_beneficiary"
    assert alert.facts["senders"] == 3
    assert alert.facts["limit"] == 3
    assert alert.status == "open"
    [again] = alerts_on(pay_dora())  # Dora again: still three profiles, at the count
    assert again.facts["senders"] == 3


def test_the_window_excludes_its_far_edge(payer) -> None:
    save_rule("many_senders_one_beneficiary", count=2, window_hours=24, source_currency="")
    *_, pay_dora = payer("Dora")
    *_, pay_ekow = payer("Ekow")
    *_, pay_fay = payer("Fay")
    now = timezone.now()
    day_before = now - dt.timedelta(hours=24)
    with time_machine.travel(day_before, tick=False):
        pay_dora()
    with time_machine.travel(now, tick=False):
        assert alerts_on(pay_ekow()) == []  # Dora's exactly 24 hours before: outside
    with time_machine.travel(day_before + dt.timedelta(seconds=1), tick=False):
        [fay_alert] = alerts_on(pay_fay())  # Dora's one second before: inside
    assert fay_alert.facts["senders"] == 2
    with time_machine.travel(now, tick=False):
        [alert] = alerts_on(pay_ekow())  # Fay's 23:59:59 before: inside
    assert alert.facts["senders"] == 2  # Ekow and Fay


def test_a_blank_fingerprint_never_matches(payer) -> None:
    save_rule("many_senders_one_beneficiary", count=2, window_hours=24, source_currency="")
    _, dora_beneficiary, pay_dora = payer("Dora")
    _, ekow_beneficiary, pay_ekow = payer("Ekow")
    *_, pay_fay = payer("Fay")
    # Rows fingerprinted before the key existed, say: unknown, not "equal to each other".
    Beneficiary.objects.filter(pk__in=[dora_beneficiary.pk, ekow_beneficiary.pk]).update(
        details_fingerprint=""
    )
    assert alerts_on(pay_dora()) == []
    assert alerts_on(pay_ekow()) == []  # two blanks: no match
    assert alerts_on(pay_fay()) == []  # a known fingerprint does not match the blanks either
    assert monitoring_nightly_run() == 0


def test_another_account_is_not_counted(payer) -> None:
    save_rule("many_senders_one_beneficiary", count=2, window_hours=24, source_currency="GBP")
    *_, pay_dora = payer("Dora")
    *_, pay_ekow = payer("Ekow", iban="DE62 3704 0044 0532 0130 01")  # another account
    assert alerts_on(pay_dora()) == []
    assert alerts_on(pay_ekow()) == []


def test_the_nightly_run_sees_what_concurrent_creates_could_not(payer) -> None:
    *_, pay_dora = payer("Dora")
    *_, pay_ekow = payer("Ekow")
    dora, ekow = pay_dora(), pay_ekow()
    rule = save_rule("many_senders_one_beneficiary", count=2, window_hours=24, source_currency="")
    assert monitoring_nightly_run() == 1  # Ekow's: Dora's was the only one before hers
    [alert] = rule.alerts.all()
    assert (alert.transfer_id, alert.raised_by, alert.facts["senders"]) == (ekow.pk, "nightly", 2)
    assert alerts_on(dora) == []
    assert monitoring_nightly_run() == 0
