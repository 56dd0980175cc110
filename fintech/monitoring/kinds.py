"""The kinds of monitoring rule (rules.py says what each takes and when it fires)."""

from __future__ import annotations

from django.db import models


class RuleKind(models.TextChoices):
    LARGE_AMOUNT = "large_amount", "Large single amount"
    VELOCITY_COUNT = "velocity_count", "Velocity: number of transfers in a window"
    VELOCITY_VOLUME = "velocity_volume", "Velocity: volume in a window"
    STRUCTURING = "structuring", "Structuring: many amounts just below a threshold"
    NEW_BENEFICIARY_LARGE = "new_beneficiary_large", "New beneficiary receiving a large amount"
    ROUND_AMOUNT = "round_amount", "Round amount"
    HIGH_RISK_CORRIDOR = "high_risk_corridor", "High-risk corridor"
    DORMANT_WAKEUP = "dormant_wakeup", "Dormant profile waking up"
    MANY_SENDERS_ONE_BENEFICIARY = (
        "many_senders_one_beneficiary",
        "Many profiles paying one bank account",
    )
