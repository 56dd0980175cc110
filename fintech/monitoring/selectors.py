"""Monitoring reads: the active rules, and whether a transfer is held (never why)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fintech.compliance.screening.selectors import screening_holds
from fintech.core.errors import ComplianceHold
from fintech.monitoring.models import HOLDING_ALERT_STATES, MonitoringAlert, MonitoringRule
from fintech.transfers.models import Transfer

_HOLD_KNOWN = "_compliance_hold_known"


def monitoring_rules_active() -> list[MonitoringRule]:
    return list(MonitoringRule.objects.filter(is_active=True).order_by("pk"))


def rules_from_rows(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> list[MonitoringRule]:
    """Rules from the rows transfer_inputs read with its other inputs (no query)."""
    return [MonitoringRule(**dict(zip(columns, row, strict=True))) for row in rows]


def transfer_monitoring_held(*, transfer_id: int) -> bool:
    """An open or confirmed alert holds the transfer."""
    return MonitoringAlert.objects.filter(
        transfer_id=transfer_id, status__in=HOLDING_ALERT_STATES
    ).exists()


def monitoring_hold_check(*, transfer: Transfer) -> None:
    """Raise ComplianceHold if an alert holds `transfer`; the message names no rule."""
    if transfer_monitoring_held(transfer_id=transfer.pk):
        raise ComplianceHold(
            f"transfer {transfer.reference} is on a compliance hold: it cannot be submitted "
            "until compliance releases it"
        )


def compliance_hold_known(transfer: Transfer, *, held: bool) -> None:
    """Record what the caller already knows (transfer_create: no screening hold, and the
    alerts it just raised), so the representation does not read it back."""
    transfer.__dict__[_HOLD_KNOWN] = held


def transfer_compliance_held(transfer: Transfer) -> bool:
    """Held by a monitoring alert, or by a screening hit on its profile or beneficiary."""
    known = transfer.__dict__.get(_HOLD_KNOWN)
    if known is not None:
        return bool(known)
    if transfer_monitoring_held(transfer_id=transfer.pk):
        return True
    return bool(
        screening_holds(profile_id=transfer.profile_id, beneficiary_id=transfer.beneficiary_id)
    )
