"""Quotes: a priced offer to convert money, valid until it expires."""

from __future__ import annotations

import datetime as dt
import uuid

import pghistory
import pgtrigger
from django.db import models
from django.utils import timezone

from fintech.customers.models import Profile


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent(), append_only=True)
class Quote(models.Model):
    class FixedSide(models.TextChoices):
        SOURCE = "source", "Source amount fixed"
        TARGET = "target", "Target amount fixed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="quotes")
    source_currency = models.CharField(max_length=3)
    target_currency = models.CharField(max_length=3)
    fixed_side = models.CharField(max_length=6, choices=FixedSide.choices)
    # Amounts in minor units. source = what the customer pays (fee included);
    # target = what the beneficiary receives.
    source_amount_minor = models.BigIntegerField()
    target_amount_minor = models.BigIntegerField()
    fee_minor = models.BigIntegerField(help_text="our fee, in the source currency")
    # The fee rule applied (fixed part in source minor units + basis points of the source amount),
    # so an auditor can recompute the fee from the quote alone.
    fee_fixed_minor = models.BigIntegerField(default=0)
    fee_bps = models.PositiveIntegerField(default=0)
    mid_rate = models.DecimalField(max_digits=24, decimal_places=12)
    customer_rate = models.DecimalField(
        max_digits=24, decimal_places=12, help_text="target per source after our margin"
    )
    margin_bps = models.PositiveIntegerField(help_text="FX margin in basis points of mid")
    rounding_mode = models.CharField(max_length=20, default="ROUND_HALF_EVEN")
    rate_source = models.CharField(max_length=50)
    rate_time = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    delivery_estimate = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        # A quote is a price we gave: PostgreSQL refuses to change it afterwards.
        triggers = [pgtrigger.Protect(name="quote_immutable", operation=pgtrigger.Update)]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source_amount_minor__gt=0, target_amount_minor__gt=0),
                name="quote_amounts_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(fee_minor__gte=0), name="quote_fee_non_negative"
            ),
            models.CheckConstraint(
                condition=~models.Q(source_currency=models.F("target_currency")),
                name="quote_currencies_differ",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_currency}->{self.target_currency} {self.id}"

    def is_expired(self, at: dt.datetime | None = None) -> bool:
        """Expired from `expires_at` on (inclusive)."""
        return (at or timezone.now()) >= self.expires_at
