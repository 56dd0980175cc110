"""Property: whatever compliance decides, in any order, with alerts raised along the way, a
monitoring hold never moves money, and a release lets the payout post exactly once."""

from __future__ import annotations

import uuid

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fintech.core.errors import ComplianceHold, DomainError
from fintech.monitoring.models import HOLDING_ALERT_STATES, MonitoringAlert, MonitoringRule
from fintech.monitoring.services import (
    monitoring_alert_clear,
    monitoring_alert_confirm,
    monitoring_nightly_run,
)
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_fund, transfer_submit
from ledger.models import JournalEntry, Posting
from ledger.selectors import ledger_verify_report
from tests.monitoring.conftest import CARLA, save_rule
from tests.transfers.conftest import OPS

pytestmark = pytest.mark.django_db

ACTIONS = st.sampled_from(["raise", "clear", "confirm", "submit"])


def _all_posted() -> int:
    return int(Posting.objects.aggregate(n=Sum("debit_minor"))["n"] or 0)


def _entries(transfer: Transfer) -> int:
    return JournalEntry.objects.filter(idempotency_key__contains=transfer.reference).count()


def _holding(transfer: Transfer) -> list[MonitoringAlert]:
    return list(MonitoringAlert.objects.filter(transfer=transfer, status__in=HOLDING_ALERT_STATES))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(ACTIONS, min_size=1, max_size=8))
def test_holds_never_move_money_and_releases_never_double_post(pay, actions):
    MonitoringRule.objects.update(is_active=False)  # examples share the database
    save_rule("large_amount", amount_minor=1, name=f"any {uuid.uuid4().hex[:6]}")
    transfer = pay("250.00")  # held from the start
    transfer_fund(actor=OPS, transfer_id=transfer.pk)
    submitted = False
    for action in actions:
        posted_before, entries_before = _all_posted(), _entries(transfer)
        held = bool(_holding(transfer))
        open_alert = MonitoringAlert.objects.filter(transfer=transfer, status="open").first()
        try:
            if action == "raise":
                # Another rule switched on, caught by the nightly run over history.
                save_rule("round_amount", amount_minor=1, round_unit_minor=5_000,
                          name=f"round {uuid.uuid4().hex[:6]}")  # fmt: skip
                monitoring_nightly_run(lookback_hours=1)
            elif action == "submit":
                transfer_submit(actor=OPS, transfer_id=transfer.pk)
            elif open_alert is None:
                continue
            elif action == "clear":
                monitoring_alert_clear(actor=CARLA, alert=open_alert, note="explained")
            else:
                monitoring_alert_confirm(actor=CARLA, alert=open_alert, note="suspicious")
        except ComplianceHold:
            assert action == "submit"
            assert held, "refused though nothing held it"
        except DomainError:
            assert action == "submit"
            assert submitted  # submitted already: refused
        if action == "submit" and not held and not submitted:
            submitted = True
            assert _entries(transfer) > entries_before  # the payout posted, once
        else:
            # Raising, clearing, confirming and refused submits moved nothing.
            assert _all_posted() == posted_before, action
            assert _entries(transfer) == entries_before, action
    transfer.refresh_from_db()
    assert transfer.state == ("processing" if submitted else "funded")
    assert ledger_verify_report().ok
