"""Recompute every beneficiary's details fingerprint (after a SECRET_KEY rotation)."""

from __future__ import annotations

from typing import Any

import pghistory
from django.core.management.base import BaseCommand
from django.db import transaction

from fintech.beneficiaries.fingerprint import fingerprints_refresh
from fintech.beneficiaries.models import Beneficiary


class Command(BaseCommand):
    help = (
        "Recompute each beneficiary's keyed details fingerprint (monitoring's cross-profile "
        "match) with the current SECRET_KEY; run after rotating it."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic(), pghistory.context(actor="command:beneficiary_fingerprints"):
            changed = fingerprints_refresh(Beneficiary)
        self.stdout.write(f"{changed} beneficiary fingerprint(s) changed")
