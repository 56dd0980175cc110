"""The two readers of history agree: the transfer flow's one-scan SQL (transfer_history) and
the nightly run's correlated subqueries (transfers_with_history) give the same facts for the
same transfer, for every kind that looks back, with every scope."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from fintech.beneficiaries.models import Beneficiary
from fintech.monitoring.facts import transfer_history, transfers_with_history
from fintech.monitoring.models import MonitoringRule
from fintech.transfers.models import Transfer
from tests.builders import build_beneficiary
from tests.monitoring.conftest import save_rule

pytestmark = pytest.mark.django_db


def test_the_transfer_flow_and_the_nightly_run_read_the_same_facts(alice, pay, payer) -> None:
    now = timezone.now()
    # Alice's second entry for the same account (the builder's EUR IBAN): still one profile.
    other = build_beneficiary(profile=alice, currency="EUR", holder_name="Zweite GmbH")
    *_, pay_dora = payer("Dora")
    *_, pay_ekow = payer("Ekow")
    _, fay_beneficiary, pay_fay = payer("Fay")
    Beneficiary.objects.filter(pk=fay_beneficiary.pk).update(details_fingerprint="")  # unknown
    for hours, amount, beneficiary in [
        (100, "950.00", None),  # outside every window but the dormancy one
        (30, "990.00", other),
        (23, "950.00", None),
        (2, "250.00", other),
    ]:
        with time_machine.travel(now - dt.timedelta(hours=hours), tick=False):
            pay(amount, beneficiary=beneficiary)
    for hours, pay_other in [(5, pay_dora), (3, pay_dora), (30, pay_ekow), (1, pay_fay)]:
        with time_machine.travel(now - dt.timedelta(hours=hours), tick=False):
            pay_other()
    with time_machine.travel(now, tick=False):
        judged = pay("960.00")
    rules = [
        save_rule("velocity_count", count=99, window_hours=24, source_currency=""),
        save_rule("velocity_count", count=99, window_hours=48, beneficiary_country="DE"),
        save_rule("velocity_volume", amount_minor=10**9, window_hours=48, target_currency="EUR"),
        save_rule("structuring", amount_minor=100_000, band_minor=10_000, count=9, window_hours=72),
        save_rule("dormant_wakeup", amount_minor=10**9, window_hours=24),
        save_rule("dormant_wakeup", amount_minor=10**9, window_hours=1),
        save_rule("large_amount", amount_minor=10**9),  # looks back at nothing
        save_rule("many_senders_one_beneficiary", count=99, window_hours=24, source_currency=""),
        save_rule(
            "many_senders_one_beneficiary", count=99, window_hours=48, beneficiary_country="DE"
        ),
        save_rule("many_senders_one_beneficiary", count=99, window_hours=48, target_currency="CHF"),
    ]
    MonitoringRule.objects.update(is_active=False)  # read by hand below, nothing raised

    flow = transfer_history(transfer=judged, rules=rules)
    [(_, nightly)] = list(transfers_with_history(Transfer.objects.filter(pk=judged.pk), rules))

    assert flow == nightly
    volume = rules[2].pk
    assert type(flow[volume]["volume"]) is type(nightly[volume]["volume"]) is int  # for JSON
    assert [flow[r.pk] for r in rules] == [
        {"count": 3},  # 23 h, 2 h and itself
        {"count": 4},
        {"volume": 96_000 + 25_000 + 95_000 + 99_000},
        {"in_band": 3},  # 990, 950, 960 (and 950 at 100 h is outside)
        {"last_before": flow[rules[4].pk]["last_before"]},
        {"last_before": None},  # nothing in the last hour before it
        {},
        {"senders": 2},  # Alice (twice, two entries) and Dora (twice); Fay's is unknown
        {"senders": 3},  # and Ekow, 30 hours before
        {"senders": 0},  # none to CHF (not even this one: out of the rule's scope)
    ]
    assert flow[rules[4].pk]["last_before"] == now - dt.timedelta(hours=2)


def test_both_readers_read_no_senders_for_an_unknown_fingerprint(alice, alice_eur, pay) -> None:
    rule = save_rule("many_senders_one_beneficiary", count=2, window_hours=24, source_currency="")
    MonitoringRule.objects.update(is_active=False)
    pay()
    # A beneficiary fingerprinted before the key existed, say: blank, unknown.
    Beneficiary.objects.filter(pk=alice_eur.pk).update(details_fingerprint="")
    judged = pay()

    flow = transfer_history(transfer=judged, rules=[rule])
    [(_, nightly)] = list(transfers_with_history(Transfer.objects.filter(pk=judged.pk), [rule]))

    assert flow == nightly == {rule.pk: {"senders": 0}}  # not even itself: it matches nothing
