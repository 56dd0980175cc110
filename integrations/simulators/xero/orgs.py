"""The sandbox's organisations (tenants) and each one's seeded chart of accounts."""

from __future__ import annotations

import uuid

from django.db import connection, transaction
from django.utils import timezone

from integrations.models import XeroSandboxObject as Obj
from integrations.models import XeroSandboxOrg
from integrations.simulators.xero.responses import ms_datetime

DEFAULT_ORG_NAME = "Demo Org (sandbox)"

# (code, name, Type, Status, bank currency or None)
CHART: list[tuple[str, str, str, str, str | None]] = [
    ("090", "Business Bank", "BANK", "ACTIVE", "base"),
    ("091", "Client money", "BANK", "ACTIVE", "base"),
    ("092", "Business Bank EUR", "BANK", "ACTIVE", "EUR"),
    ("093", "Business Bank USD", "BANK", "ACTIVE", "USD"),
    ("200", "Sales", "REVENUE", "ACTIVE", None),
    ("260", "Other revenue", "REVENUE", "ACTIVE", None),
    ("270", "FX margin revenue", "REVENUE", "ACTIVE", None),
    ("299", "Old revenue (archived)", "REVENUE", "ARCHIVED", None),
    ("404", "Bank fees", "EXPENSE", "ACTIVE", None),
    ("610", "Accounts Receivable", "CURRENT", "ACTIVE", None),
    ("800", "Accounts Payable", "CURRLIAB", "ACTIVE", None),
    ("810", "Customer funds", "CURRLIAB", "ACTIVE", None),
    ("820", "Payout clearing", "CURRLIAB", "ACTIVE", None),
]
SYSTEM_ACCOUNTS = {"610": "DEBTORS", "800": "CREDITORS"}


def org_create(
    *, name: str, base_currency: str = "GBP", currencies: list[str] | None = None
) -> XeroSandboxOrg:
    """An organisation with its chart of accounts (multi-currency: `currencies` enabled)."""
    enabled = [base_currency] + [c for c in (currencies or []) if c != base_currency]
    with transaction.atomic():
        org = XeroSandboxOrg.objects.create(
            name=name,
            short_code="!" + uuid.uuid4().hex[:5],
            base_currency=base_currency,
            currencies=enabled,
        )
        now = ms_datetime(timezone.now())
        for code, account_name, kind, status, bank_currency in CHART:
            account_id = uuid.uuid4()
            data = {
                "AccountID": str(account_id),
                "Code": code,
                "Name": account_name,
                "Type": kind,
                "Status": status,
                "TaxType": "NONE",
                "Class": _class_of(kind),
                "EnablePaymentsToAccount": False,
                "ShowInExpenseClaims": False,
                "ReportingCode": "",
                "HasAttachments": False,
                "UpdatedDateUTC": now,
            }
            if code in SYSTEM_ACCOUNTS:
                data["SystemAccount"] = SYSTEM_ACCOUNTS[code]
            if kind == "BANK":
                currency = base_currency if bank_currency == "base" else bank_currency
                if currency not in enabled:
                    continue
                data.update(
                    CurrencyCode=currency, BankAccountType="BANK", BankAccountNumber=f"0000{code}"
                )
            Obj.objects.create(id=account_id, org=org, kind="Account", data=data)
    return org


def org_default() -> XeroSandboxOrg:
    """The sandbox's first organisation, created on first use."""
    org = XeroSandboxOrg.objects.order_by("created_at").first()
    if org is not None:
        return org
    with transaction.atomic():
        # Why the advisory lock: two first authorizations at once must not make two orgs.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('xero-sandbox-default-org'))")
        org = XeroSandboxOrg.objects.order_by("created_at").first()
        if org is None:
            org = org_create(name=DEFAULT_ORG_NAME, base_currency="GBP", currencies=["EUR", "USD"])
    return org


def _class_of(kind: str) -> str:
    if kind in ("REVENUE", "SALES", "OTHERINCOME"):
        return "REVENUE"
    if kind in ("EXPENSE", "OVERHEADS", "DIRECTCOSTS"):
        return "EXPENSE"
    if kind in ("CURRLIAB", "LIABILITY", "TERMLIAB"):
        return "LIABILITY"
    if kind == "EQUITY":
        return "EQUITY"
    return "ASSET"
