"""Transaction monitoring (issue 19, part 2): rules operators configure, alerts they decide.

A `MonitoringRule` is one row per rule: its kind (what it looks at), its scope (which
transfers it applies to; blank = any) and its parameters (thresholds in integer minor units
of the rule's source currency, counts, a window in hours, a score). `rules.py` says which
parameters each kind needs and refuses impossible ones, naming the field.

A `MonitoringAlert` is one hit of one rule on one transfer, with the facts that triggered it.
An open or confirmed alert holds the transfer (`transfer_submit` refuses it); clearing lifts
the hold. The same rule never alerts twice on the same transfer (unique constraint): the
nightly run over history may meet a transfer the transfer flow already judged.
"""

from __future__ import annotations

from typing import Any

import pghistory
from django.core.exceptions import ValidationError
from django.db import models

from fintech.customers.models import Profile
from fintech.monitoring.kinds import RuleKind
from fintech.monitoring.rules import rule_errors
from fintech.transfers.models import Transfer


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class MonitoringRule(models.Model):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=30, choices=RuleKind.choices)
    jurisdiction = models.CharField(
        max_length=40, blank=True, help_text="a label, e.g. UK, EU; the rule applies everywhere"
    )
    is_active = models.BooleanField(default=False, db_index=True)
    # Scope: blank = any.
    profile_kind = models.CharField(
        max_length=10, blank=True, choices=Profile.Kind.choices, help_text="blank: any"
    )
    source_currency = models.CharField(
        max_length=3,
        blank=True,
        help_text="ISO 4217; amounts below are in its minor units (required for amount rules)",
    )
    target_currency = models.CharField(max_length=3, blank=True, help_text="blank: any")
    beneficiary_country = models.CharField(
        max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 of the beneficiary's bank"
    )
    # Parameters (which ones a kind needs: rules.py).
    amount_minor = models.BigIntegerField(
        null=True, blank=True, help_text="threshold in minor units of the source currency"
    )
    band_minor = models.BigIntegerField(
        null=True, blank=True, help_text="structuring: how far below the threshold counts"
    )
    round_unit_minor = models.BigIntegerField(
        null=True, blank=True, help_text="round amount: a multiple of this many minor units"
    )
    count = models.PositiveIntegerField(null=True, blank=True)
    window_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="look-back window (dormant: the quiet period)"
    )
    score = models.PositiveSmallIntegerField(default=50, help_text="1-100, on each alert")
    updated_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        for error in rule_errors(self):
            errors.setdefault(error.field, []).append(error.message)
        if errors:
            raise ValidationError(errors)


HOLDING_ALERT_STATES = ("open", "confirmed")


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class MonitoringAlert(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLEARED = "cleared", "Cleared"
        CONFIRMED = "confirmed", "Confirmed"

    class RaisedBy(models.TextChoices):
        TRANSFER = "transfer", "Transfer creation"
        NIGHTLY = "nightly", "Nightly run"

    rule = models.ForeignKey(MonitoringRule, on_delete=models.PROTECT, related_name="alerts")
    transfer = models.ForeignKey(
        Transfer, on_delete=models.PROTECT, related_name="monitoring_alerts"
    )
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="monitoring_alerts")
    kind = models.CharField(max_length=30, choices=RuleKind.choices)
    facts: models.JSONField[dict[str, Any]] = models.JSONField(default=dict)
    score = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    raised_by = models.CharField(max_length=10, choices=RaisedBy.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_by = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["transfer", "status"], name="monitoringalert_hold")]
        constraints = [
            # The nightly run and the transfer flow (or two nightly runs) never alert twice.
            models.UniqueConstraint(fields=["rule", "transfer"], name="monitoringalert_once")
        ]

    def __str__(self) -> str:
        return f"alert {self.pk}: {self.kind} on transfer {self.transfer_id}"
