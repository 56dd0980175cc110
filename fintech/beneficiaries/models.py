"""Beneficiaries: who a transfer pays, with bank details encrypted at rest."""

from __future__ import annotations

import pghistory
from django.db import models
from encrypted_fields.fields import EncryptedJSONField

from fintech.customers.models import Profile


# Row history by triggers; `bank_details` is copied as the ciphertext the column holds.
@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class Beneficiary(models.Model):
    """Who a transfer pays. Bank details never change: a correction is a new beneficiary and
    the old one is deactivated (`services.beneficiary_create` / `beneficiary_deactivate`)."""

    class Scheme(models.TextChoices):
        IBAN = "iban", "IBAN (with BIC)"
        GB_SORT_CODE = "gb_sort_code", "UK sort code and account number"
        US_ABA = "us_aba", "US ABA routing and account number"
        IN_IFSC = "in_ifsc", "Indian IFSC and account number"

    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="beneficiaries")
    holder_name = models.CharField(max_length=140)
    currency = models.CharField(max_length=3)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 of the bank")
    scheme = models.CharField(max_length=20, choices=Scheme.choices)
    # The full details, encrypted (Fernet) at rest; never shown whole in lists or logs.
    bank_details = EncryptedJSONField()
    # What operators and API clients see, e.g. "GB** **** **** **** 4432".
    masked_details = models.CharField(max_length=80)
    # HMAC-SHA256 of the account identifiers under a key derived from SECRET_KEY
    # (fingerprint.py): the same account across profiles, for transaction monitoring, without
    # decrypting; nobody can test a guessed account number against it without the key. Blank:
    # not known (never matches anything, not even another blank).
    details_fingerprint = models.CharField(max_length=64, blank=True, default="", db_index=True)
    is_active = models.BooleanField(default=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "beneficiaries"

    def __str__(self) -> str:
        return f"{self.holder_name} ({self.currency}, {self.masked_details})"
