"""Ledger tables. Written only by `ledger.services`; read through `ledger.selectors`.

Postings use two columns, `debit_minor` and `credit_minor` (BigIntegers in the currency's
minor unit): exactly one is positive and the other zero (a CHECK constraint). Sums stay
plain `SUM(debit_minor) - SUM(credit_minor)` and a posting's side is never a sign to get
wrong. The database rules beyond CHECKs (balanced entries, currency match, append-only)
are installed by migration 0002 from the SQL file beside it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    REVENUE = "revenue", "Revenue"
    EXPENSE = "expense", "Expense"
    EQUITY = "equity", "Equity"


# Debit-normal types: a debit increases their balance. The others are credit-normal.
DEBIT_NORMAL_TYPES = frozenset({AccountType.ASSET, AccountType.EXPENSE})


class Account(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    code = models.CharField(max_length=200, unique=True, help_text="stable key, e.g. wallet:…")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=AccountType.choices)
    currency = models.CharField(max_length=3)
    owner = models.CharField(
        max_length=200, blank=True, db_index=True, help_text="opaque owner reference"
    )
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    allow_negative = models.BooleanField(
        default=False, help_text="customer wallets may not go negative; partner accounts may"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="ledger_account_currency_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.currency})"

    @property
    def debit_normal(self) -> bool:
        return self.type in DEBIT_NORMAL_TYPES


class JournalEntry(models.Model):
    idempotency_key = models.CharField(max_length=200, unique=True)
    memo = models.CharField(max_length=500)
    effective_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    # An entry is reversed at most once (one-to-one), and a reversal cannot be reversed.
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-effective_at", "-id"]
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        return f"#{self.pk} {self.memo}"


class Posting(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    currency = models.CharField(max_length=3)
    debit_minor = models.BigIntegerField(default=0)
    credit_minor = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "entry"], name="ledger_posting_account_entry")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(debit_minor__gt=0, credit_minor=0) | Q(debit_minor=0, credit_minor__gt=0)
                ),
                name="ledger_posting_exactly_one_side",
            ),
        ]

    def __str__(self) -> str:
        side = f"Dr {self.debit_minor}" if self.debit_minor else f"Cr {self.credit_minor}"
        return f"{side} {self.currency} {self.account_id}"


class AccountBalance(models.Model):
    """The materialised balance: always equal to the sum of the account's postings.

    `debit_normal` and `allow_negative` are copies of the account's (immutable) attributes
    so that a CHECK constraint can refuse a no-negative balance below zero even if the
    Python check were bypassed.
    """

    account = models.OneToOneField(
        Account, primary_key=True, on_delete=models.PROTECT, related_name="balance"
    )
    debits_minor = models.BigIntegerField(default=0)
    credits_minor = models.BigIntegerField(default=0)
    held_minor = models.BigIntegerField(default=0, help_text="sum of active holds")
    debit_normal = models.BooleanField()
    allow_negative = models.BooleanField()
    version = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(debits_minor__gte=0, credits_minor__gte=0, held_minor__gte=0),
                name="ledger_balance_totals_non_negative",
            ),
            models.CheckConstraint(
                condition=(
                    Q(allow_negative=True)
                    | Q(
                        debit_normal=True,
                        debits_minor__gte=models.F("credits_minor") + models.F("held_minor"),
                    )
                    | Q(
                        debit_normal=False,
                        credits_minor__gte=models.F("debits_minor") + models.F("held_minor"),
                    )
                ),
                name="ledger_balance_no_negative_available",
            ),
        ]

    def __str__(self) -> str:
        return f"balance of {self.account_id}"

    @property
    def posted_minor(self) -> int:
        """Signed on the account's normal side."""
        if self.debit_normal:
            return self.debits_minor - self.credits_minor
        return self.credits_minor - self.debits_minor

    @property
    def available_minor(self) -> int:
        return self.posted_minor - self.held_minor


class Hold(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CAPTURED = "captured", "Captured"
        VOIDED = "voided", "Voided"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holds")
    amount_minor = models.BigIntegerField()
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    memo = models.CharField(max_length=500, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    capture_entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="captured_hold"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="ledger_hold_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status="captured", capture_entry__isnull=False)
                | (~Q(status="captured") & Q(capture_entry__isnull=True)),
                name="ledger_hold_captured_has_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"hold {self.pk} {self.amount_minor} on {self.account_id} ({self.status})"
