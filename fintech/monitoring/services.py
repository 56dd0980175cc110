"""Monitoring writes: saving rules, judging transfers, raising and deciding alerts.

Where the rules run:
- in `transfer_create`, right after the transfer row is inserted and in its transaction
  (`monitoring_transfer_check`): one query reads the active rules, and, when a rule in scope
  looks back, one more reads the transfer's history facts. A hit never rejects: it raises an
  alert, and the alert holds the transfer (`transfer_submit` refuses it until cleared).
- nightly over recent history (`monitoring_nightly_run`, a beat task and the `monitoring_run`
  command): what the transfer flow could not see (a rule switched on later, concurrent
  transfers of one profile in other transactions) is caught there. Idempotent: a transfer
  already alerted by a rule is skipped, and the unique (rule, transfer) index backs it up.

Events `monitoring.alert_*` carry no profile on purpose: they must never reach the customer's
webhooks (tipping off). Raising, clearing and confirming an alert touch no money: the hold is
a refusal in `transfer_submit`, not a ledger movement.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pghistory
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from fintech.beneficiaries.models import Beneficiary
from fintech.compliance.alerts import alert_decide
from fintech.compliance.cases.attach import case_attach
from fintech.core.errors import ValidationFailed
from fintech.core.services import Actor, audit_record, event_emit
from fintech.core.sql import insert_unless_conflict
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile
from fintech.monitoring.facts import scope_q, transfer_history, transfers_with_history
from fintech.monitoring.models import MonitoringAlert, MonitoringRule
from fintech.monitoring.rules import TransferView, evaluate, in_scope, rule_errors
from fintech.monitoring.selectors import monitoring_rules_active
from fintech.transfers.models import Transfer

CASE_SOURCE = "monitoring_alert"  # the alerts' kind in compliance cases (case_source.py)
NIGHTLY_LOOKBACK_HOURS = 48  # two nights: a missed run is caught up by the next


# ---------------------------------------------------------------------------------------------
# Rules


@service_transaction
def monitoring_rule_save(*, actor: Actor, rule: MonitoringRule) -> MonitoringRule:
    """Create or change a rule, refusing an impossible configuration with field errors."""
    errors = rule_errors(rule)
    if errors:
        raise ValidationFailed(errors)
    created = rule.pk is None
    rule.updated_by = actor.label
    with pghistory.context(actor=actor.label, request_id=actor.request_id):
        rule.save()
    audit_record(
        actor=actor,
        action="monitoring.rule_created" if created else "monitoring.rule_changed",
        target=rule,
        data={k: v for k, v in model_to_dict(rule).items() if k != "id"},
    )
    return rule


# ---------------------------------------------------------------------------------------------
# Alerts


def _alert_payload(alert: MonitoringAlert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "rule_id": alert.rule_id,
        "kind": alert.kind,
        "transfer_id": alert.transfer_id,
        "profile_id": alert.profile_id,
        "score": alert.score,
        "status": alert.status,
    }


def _alert_raise(
    *, actor: Actor, rule: MonitoringRule, transfer_id: int, profile_id: int, facts: dict[str, Any],
    raised_by: str,
) -> MonitoringAlert | None:  # fmt: skip
    alert = MonitoringAlert(
        rule=rule,
        transfer_id=transfer_id,
        profile_id=profile_id,
        kind=rule.kind,
        facts=facts,
        score=rule.score,
        raised_by=raised_by,
    )
    # ON CONFLICT DO NOTHING: the nightly run meeting an alert the transfer flow (or another
    # run) committed in the meantime skips it instead of failing the batch.
    if not insert_unless_conflict(alert):
        return None
    audit_record(
        actor=actor,
        action="monitoring.alert_raised",
        target=alert,
        data={**_alert_payload(alert), "facts": facts},
    )
    # profile_id=None on purpose: never to the customer's webhooks (no tipping off).
    event_emit(type="monitoring.alert_raised", profile_id=None, payload=_alert_payload(alert))
    # Every alert is worked in a case (the profile's active one, or a new one), in this
    # transaction, as screening hits are: the hold is never without a case to decide it.
    case_attach(
        actor=actor,
        profile=profile_id,
        source=CASE_SOURCE,
        source_id=alert.pk,
        summary=alert_summary(alert),
        score=alert.score,
    )
    return alert


def alert_summary(alert: MonitoringAlert) -> str:
    """One line for the case's item list."""
    return f"{alert.rule.name} ({alert.kind}) on transfer {alert.transfer.reference}"


def monitoring_transfer_check(
    *,
    actor: Actor,
    transfer: Transfer,
    profile: Profile,
    beneficiary: Beneficiary,
    rules: list[MonitoringRule] | None = None,
) -> list[MonitoringAlert]:
    """Judge a transfer just inserted (in the caller's transaction) by `rules` (default: the
    active ones, read now); returns the alerts raised, each of which holds the transfer."""
    if rules is None:
        rules = monitoring_rules_active()
    if not rules:
        return []
    view = TransferView(
        id=transfer.pk,
        profile_id=profile.pk,
        profile_kind=profile.kind,
        source_currency=transfer.source_currency,
        target_currency=transfer.target_currency,
        beneficiary_country=beneficiary.country,
        amount_minor=transfer.source_amount_minor,
        created_at=transfer.created_at,
        beneficiary_created_at=beneficiary.created_at,
        profile_created_at=profile.created_at,
    )
    rules = [rule for rule in rules if in_scope(rule, view)]
    if not rules:
        return []
    history = transfer_history(transfer=transfer, rules=rules)
    alerts = []
    for rule in rules:
        facts = evaluate(rule, view, history[rule.pk])
        if facts is not None:
            alert = _alert_raise(
                actor=actor, rule=rule, transfer_id=transfer.pk, profile_id=profile.pk,
                facts=facts, raised_by=MonitoringAlert.RaisedBy.TRANSFER,
            )  # fmt: skip
            if alert is not None:
                alerts.append(alert)
    return alerts


def monitoring_nightly_run(
    *, lookback_hours: int = NIGHTLY_LOOKBACK_HOURS, now: dt.datetime | None = None
) -> int:
    """Every active rule over the transfers created in the last `lookback_hours`, one query
    per rule (transfers and history facts together, streamed); returns the alerts raised.
    Each alert commits on its own, so a long run holds no long transaction."""
    now = now or timezone.now()
    actor = Actor.system("monitoring_nightly")
    raised = 0
    for rule in monitoring_rules_active():
        candidates = (
            Transfer.objects.filter(
                scope_q(rule),
                created_at__gt=now - dt.timedelta(hours=lookback_hours),
                created_at__lte=now,
            )
            .filter(**({"profile__kind": rule.profile_kind} if rule.profile_kind else {}))
            .exclude(monitoring_alerts__rule=rule)
        )
        for view, history in transfers_with_history(candidates, [rule]):
            facts = evaluate(rule, view, history[rule.pk])
            if facts is None:
                continue
            with transaction.atomic():
                alert = _alert_raise(
                    actor=actor, rule=rule, transfer_id=view.id, profile_id=view.profile_id,
                    facts=facts, raised_by=MonitoringAlert.RaisedBy.NIGHTLY,
                )  # fmt: skip
            raised += alert is not None
    return raised


def _alert_decide(
    *, actor: Actor, alert: MonitoringAlert | int, note: str, status: str
) -> MonitoringAlert:
    return alert_decide(
        actor=actor, model=MonitoringAlert, alert=alert, note=note, status=status,
        noun="monitoring alert", event_prefix="monitoring.alert", payload=_alert_payload,
    )  # fmt: skip


@service_transaction
def monitoring_alert_clear(
    *, actor: Actor, alert: MonitoringAlert | int, note: str
) -> MonitoringAlert:
    """Not suspicious: this alert's hold lifts (others on the transfer still hold it)."""
    return _alert_decide(actor=actor, alert=alert, note=note, status=MonitoringAlert.Status.CLEARED)


@service_transaction
def monitoring_alert_confirm(
    *, actor: Actor, alert: MonitoringAlert | int, note: str
) -> MonitoringAlert:
    """Suspicious: the hold stays (releasing it or cancelling the transfer is a case decision)."""
    return _alert_decide(
        actor=actor, alert=alert, note=note, status=MonitoringAlert.Status.CONFIRMED
    )


# ---------------------------------------------------------------------------------------------
# Starting rules: one per kind, switched off except the large-amount one, for a jurisdiction
# to tune (figures are illustrations, not advice).

DEFAULT_RULES: list[dict[str, Any]] = [
    {"name": "Large single payment (GBP)", "kind": "large_amount", "is_active": True,
     "amount_minor": 1_000_000},
    {"name": "Many payments in a day", "kind": "velocity_count", "count": 20,
     "window_hours": 24},
    {"name": "High daily volume (GBP)", "kind": "velocity_volume", "amount_minor": 5_000_000,
     "window_hours": 24},
    {"name": "Structuring below 10,000 GBP", "kind": "structuring", "amount_minor": 1_000_000,
     "band_minor": 100_000, "count": 3, "window_hours": 72},
    {"name": "New beneficiary, large payment (GBP)", "kind": "new_beneficiary_large",
     "amount_minor": 500_000, "window_hours": 48},
    {"name": "Round amounts of 1,000 GBP", "kind": "round_amount", "amount_minor": 500_000,
     "round_unit_minor": 100_000},
    {"name": "High-risk corridor (example: payouts to IR)", "kind": "high_risk_corridor",
     "amount_minor": 1, "beneficiary_country": "IR"},
    {"name": "Dormant for 180 days (GBP)", "kind": "dormant_wakeup", "amount_minor": 100_000,
     "window_hours": 24 * 180},
    {"name": "Many customers paying one account in a week",
     "kind": "many_senders_one_beneficiary", "count": 5, "window_hours": 24 * 7},
]  # fmt: skip

# Kinds without an amount: their defaults are not limited to one source currency.
_ANY_CURRENCY_KINDS = ("velocity_count", "many_senders_one_beneficiary")


def monitoring_defaults_seed(*, actor: Actor) -> int:
    """Create the starting rules that do not exist yet (by name); returns how many."""
    created = 0
    existing = set(MonitoringRule.objects.values_list("name", flat=True))
    for spec in DEFAULT_RULES:
        if spec["name"] in existing:
            continue
        fields = {
            "source_currency": "" if spec["kind"] in _ANY_CURRENCY_KINDS else "GBP",
            **spec,
        }
        monitoring_rule_save(actor=actor, rule=MonitoringRule(score=60, **fields))
        created += 1
    return created
