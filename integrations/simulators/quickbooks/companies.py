"""The sandbox's QuickBooks companies (realms) and each one's seeded lists: a chart of accounts
with an account for every role of the connector's mapping
(integrations/connectors/accounting/quickbooks/roles.py) at the Ids its tests use, inactive
accounts and accounts in other currencies for the bad-input tests, the service Items sales
lines name, and the currencies enabled (CompanyCurrency)."""

from __future__ import annotations

import secrets

from django.db import connection, transaction

from integrations.connectors.accounting.quickbooks.roles import CLASSIFICATION_BY_TYPE
from integrations.models import QuickBooksSandboxCompany as Company
from integrations.simulators.quickbooks.store import object_create

DEFAULT_NAME = "Demo Company (sandbox)"
# Entity Ids below this are the seeded ones; new objects count on from it.
FIRST_FREE_ID = 200

# (Id, Name, AccountType, AccountSubType, Active, currency: "home" or a code)
CHART: list[tuple[str, str, str, str, bool, str]] = [
    ("1", "Services", "Income", "ServiceFeeIncome", True, "home"),
    ("4", "Undeposited Funds", "Other Current Asset", "UndepositedFunds", True, "home"),
    ("8", "Bank Charges", "Expense", "BankCharges", True, "home"),
    ("33", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", True, "home"),
    ("35", "Client money", "Bank", "TrustAccounts", True, "home"),
    ("36", "Wallet", "Bank", "Checking", True, "home"),
    ("79", "Transfer fee income", "Income", "ServiceFeeIncome", True, "home"),
    ("80", "FX margin income", "Income", "OtherPrimaryIncome", True, "home"),
    ("84", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", True, "home"),
    ("92", "Customer funds", "Other Current Liability", "TrustAccountsLiabilities", True, "home"),
    ("93", "Payout clearing", "Other Current Liability", "OtherCurrentLiabilities", True, "home"),
    ("94", "FX position", "Equity", "OwnersEquity", True, "home"),
    (
        "95",
        "Supplier payments clearing",
        "Other Current Liability",
        "OtherCurrentLiabilities",
        True,
        "home",
    ),
    ("96", "Funding clearing", "Other Current Asset", "OtherCurrentAssets", True, "home"),
    ("97", "Old income (inactive)", "Income", "ServiceFeeIncome", False, "home"),
    ("98", "Client money EUR", "Bank", "TrustAccounts", True, "EUR"),
    ("99", "Client money USD", "Bank", "TrustAccounts", True, "USD"),
    ("100", "Wallet EUR", "Bank", "Checking", True, "EUR"),
    ("101", "Old bank (inactive)", "Bank", "Checking", False, "home"),
    ("102", "Exchange Gain or Loss", "Other Expense", "ExchangeGainOrLoss", True, "home"),
]
# (Id, Name, income account Id)
ITEMS = [("1", "Services", "1"), ("2", "Transfer fee", "79"), ("3", "FX margin", "80")]
# Intuit's AccountType -> Classification (the connector's table of Intuit's enums).
CLASSIFICATION = CLASSIFICATION_BY_TYPE
CURRENCY_NAMES = {
    "GBP": "British Pound Sterling",
    "EUR": "Euro",
    "USD": "United States Dollar",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
    "JPY": "Japanese Yen",
    "CHF": "Swiss Franc",
}


def currency_ref(code: str) -> dict[str, str]:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def realm_new() -> str:
    """A realm id as Intuit's look: 16 digits, sandbox ones starting 9341."""
    return "9341" + "".join(secrets.choice("0123456789") for _ in range(12))


def account_data(
    *, name: str, account_type: str, sub_type: str, active: bool, currency: str
) -> dict[str, object]:
    return {
        "Name": name,
        "SubAccount": False,
        "FullyQualifiedName": name,
        "Active": active,
        "Classification": CLASSIFICATION[account_type],
        "AccountType": account_type,
        "AccountSubType": sub_type,
        "CurrentBalance": 0,
        "CurrentBalanceWithSubAccounts": 0,
        "CurrencyRef": currency_ref(currency),
    }


def company_create(
    *,
    name: str,
    home_currency: str = "GBP",
    currencies: list[str] | None = None,
    multi_currency: bool = True,
    country: str = "GB",
) -> Company:
    """A company with its seeded lists; `currencies` (besides the home one) are enabled when
    multi-currency is on, and only then are the foreign bank accounts there."""
    others = [c for c in (currencies or []) if c != home_currency] if multi_currency else []
    with transaction.atomic():
        company = Company.objects.create(
            realm_id=realm_new(),
            name=name,
            country=country,
            home_currency=home_currency,
            multi_currency=multi_currency,
            last_id=FIRST_FREE_ID,
        )
        for object_id, account, kind, sub_type, active, currency in CHART:
            code = home_currency if currency == "home" else currency
            if code != home_currency and code not in others:
                continue
            data = account_data(
                name=account, account_type=kind, sub_type=sub_type, active=active, currency=code
            )
            object_create(company, "Account", data, object_id=object_id)
        for object_id, item, income in ITEMS:
            object_create(
                company,
                "Item",
                {
                    "Name": item,
                    "FullyQualifiedName": item,
                    "Active": True,
                    "Type": "Service",
                    "IncomeAccountRef": {"value": income},
                    "UnitPrice": 0,
                },
                object_id=object_id,
            )
        for n, code in enumerate(others, start=1):
            object_create(
                company,
                "CompanyCurrency",
                {"Code": code, "Name": CURRENCY_NAMES.get(code, code), "Active": True},
                object_id=str(n),
            )
    return company


def company_default() -> Company:
    """The sandbox's demo company, created on first use (GBP, EUR and USD enabled)."""
    company = Company.objects.filter(name=DEFAULT_NAME).order_by("created_at").first()
    if company is not None:
        return company
    with transaction.atomic():
        # Why the advisory lock: two first authorizations at once must not make two companies.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('qbo-sandbox-default-company'))")
        company = Company.objects.filter(name=DEFAULT_NAME).order_by("created_at").first()
        if company is None:
            company = company_create(name=DEFAULT_NAME, currencies=["EUR", "USD"])
    return company


def currencies_enabled(company: Company) -> set[str]:
    from integrations.models import QuickBooksSandboxObject as Obj

    if not company.multi_currency:
        return {company.home_currency}
    codes = Obj.objects.filter(
        company=company, entity="CompanyCurrency", deleted=False, data__Active=True
    ).values_list("data__Code", flat=True)
    return {company.home_currency, *codes}
