"""Monitoring alerts as a case source (issue 19, part 3), ready to register with
`fintech.compliance.cases.registry.case_source_register(KIND, release=..., confirm=...,
describe=..., transfers=...)`, which MonitoringConfig.ready does.

Same promises as the screening source (fintech.compliance.alerts.case_decisions): a case
closed as cleared clears the alert (the hold lifts unless another alert holds the transfer),
closed as reported confirms it (the hold stays). Callbacks run in the case's transaction."""

from __future__ import annotations

from typing import Any

from fintech.compliance.alerts import HELD_TRANSFER_STATES, case_decisions
from fintech.core.errors import NotFound
from fintech.monitoring.models import MonitoringAlert
from fintech.monitoring.services import (
    CASE_SOURCE,
    monitoring_alert_clear,
    monitoring_alert_confirm,
)

KIND = CASE_SOURCE


def _alert(alert_id: int) -> MonitoringAlert:
    alert = MonitoringAlert.objects.select_related("rule", "transfer").filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(f"monitoring alert {alert_id} not found")
    return alert


release, confirm = case_decisions(
    noun="monitoring alert",
    status_of=lambda alert_id: _alert(alert_id).status,
    clear=lambda actor, alert_id, note: monitoring_alert_clear(
        actor=actor, alert=alert_id, note=note
    ),
    confirm=lambda actor, alert_id, note: monitoring_alert_confirm(
        actor=actor, alert=alert_id, note=note
    ),
)


def describe(alert_id: int) -> dict[str, Any]:
    """What the suspicious-activity report carries about the alert."""
    alert = _alert(alert_id)
    transfer = alert.transfer
    return {
        "kind": KIND,
        "id": alert.pk,
        "rule": alert.rule.name,
        "rule_kind": alert.kind,
        "jurisdiction": alert.rule.jurisdiction,
        "transfer_id": transfer.pk,
        "transfer_reference": transfer.reference,
        "source_currency": transfer.source_currency,
        "source_amount_minor": transfer.source_amount_minor,
        "target_currency": transfer.target_currency,
        "target_amount_minor": transfer.target_amount_minor,
        "facts": alert.facts,
        "score": alert.score,
        "raised_by": alert.raised_by,
        "raised_at": alert.created_at.isoformat(),
        "status": alert.status,
        "decided_by": alert.decided_by,
        "decided_at": alert.decided_at.isoformat() if alert.decided_at else "",
    }


def transfers(alert_id: int) -> list[int]:
    """The transfer the alert holds, while it can still be kept from paying out."""
    alert = _alert(alert_id)
    return [alert.transfer_id] if alert.transfer.state in HELD_TRANSFER_STATES else []
