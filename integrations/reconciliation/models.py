"""Bank statements and their lines, normalised from camt.053/054, MT940 and CSV.

- `BankAccount`: our account at a bank, the ledger account it mirrors, and (for CSV) the
  saved column mapping.
- `BankStatement`: one statement (or camt.054 notification) as imported: stored once per
  (bank account, statement id, checksum of the file). Balance continuity problems are kept
  as `flags` with status `flagged`: never absorbed, never corrected here.
- `StatementLine`: one booked entry. `amount_minor` is SIGNED: positive is money in (credit
  to our account), negative is money out (debit). `direction` repeats the sign as a word
  (a check constraint keeps the two consistent) so queries and operators read it plainly.

Imported by integrations/models.py so Django registers them with the `integrations` app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class BankAccount(models.Model):
    name = models.CharField(max_length=200)
    # IBAN, or the bank's own account number (MT940 :25:, camt Acct/Id/Othr/Id), as the
    # statements spell it (spaces removed, upper case).
    account_number = models.CharField(max_length=64, unique=True)
    currency = models.CharField(max_length=3)
    # The ledger account this bank account mirrors, e.g. "funding:sandbox-bank:GBP".
    ledger_account_code = models.CharField(max_length=200)
    # For CSV statements: {"date": "...", "amount": "...", ...}; see parsers/csv_statement.py.
    csv_mapping = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_number}, {self.currency})"


class BankStatement(models.Model):
    class Format(models.TextChoices):
        CAMT053 = "camt053", "camt.053 statement"
        CAMT054 = "camt054", "camt.054 notification"
        MT940 = "mt940", "MT940"
        CSV = "csv", "CSV"

    class Status(models.TextChoices):
        IMPORTED = "imported", "Imported"
        FLAGGED = "flagged", "Flagged"

    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="statements"
    )
    format = models.CharField(max_length=10, choices=Format.choices)
    statement_id = models.CharField(max_length=200)
    sequence_number = models.CharField(max_length=40, blank=True)
    checksum = models.CharField(max_length=64, help_text="sha256 of the file, hex")
    opening_balance_minor = models.BigIntegerField(null=True, blank=True)
    opening_date = models.DateField(null=True, blank=True)
    closing_balance_minor = models.BigIntegerField(null=True, blank=True)
    closing_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IMPORTED)
    flags = models.JSONField(default=list, blank=True)
    file_name = models.CharField(max_length=255)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.CharField(max_length=200, help_text="the actor's label")
    imported_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "statement_id", "checksum"],
                name="bankstatement_once_per_file",
            )
        ]
        indexes = [models.Index(fields=["bank_account", "closing_date"])]

    def __str__(self) -> str:
        return f"{self.statement_id} ({self.get_format_display()})"


class StatementLine(models.Model):
    class Direction(models.TextChoices):
        CREDIT = "credit", "Credit (money in)"
        DEBIT = "debit", "Debit (money out)"

    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField(help_text="0-based order in the statement")
    value_date = models.DateField(null=True, blank=True)
    booking_date = models.DateField(null=True, blank=True)
    amount_minor = models.BigIntegerField(help_text="signed: + money in, - money out")
    direction = models.CharField(max_length=6, choices=Direction.choices)
    currency = models.CharField(max_length=3)
    bank_reference = models.CharField(max_length=200, blank=True)
    end_to_end_id = models.CharField(max_length=200, blank=True)
    uetr = models.CharField(max_length=36, blank=True)
    counterparty_name = models.CharField(max_length=300, blank=True)
    counterparty_account = models.CharField(max_length=100, blank=True)
    remittance_info = models.TextField(blank=True)
    raw = models.TextField(blank=True, help_text="the entry as the file had it (shortened)")

    class Meta:
        ordering = ["statement_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "position"], name="statementline_position"
            ),
            models.CheckConstraint(
                condition=(Q(amount_minor__gte=0, direction="credit"))
                | Q(amount_minor__lt=0, direction="debit"),
                name="statementline_direction_matches_sign",
            ),
        ]
        indexes = [
            models.Index(fields=["end_to_end_id"], name="stmtline_e2e"),
            models.Index(fields=["uetr"], name="stmtline_uetr"),
            models.Index(fields=["amount_minor", "currency", "value_date"], name="stmtline_amount"),
            models.Index(fields=["bank_reference"], name="stmtline_bankref"),
        ]

    def __str__(self) -> str:
        return f"{self.amount_minor} {self.currency} {self.value_date}"
