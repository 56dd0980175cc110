"""OAuth 2.0 scopes of API v1, by capability: one constant per scope, one place to add one.

Every view names the scopes it needs (`required_scopes`); an application can only obtain
the scopes granted to it on its `ApiClient` (see `fintech.api.oauth.ApiClientScopes`).
A new scope is a line here (and its grant in the admin).
"""

from __future__ import annotations

PROFILES_READ = "profiles:read"
BALANCES_READ = "balances:read"
RATES_READ = "rates:read"
QUOTES_WRITE = "quotes:write"
BENEFICIARIES_READ = "beneficiaries:read"
BENEFICIARIES_WRITE = "beneficiaries:write"
TRANSFERS_READ = "transfers:read"
TRANSFERS_WRITE = "transfers:write"
LEDGER_READ = "ledger:read"
COMPLIANCE_READ = "compliance:read"
WEBHOOKS_MANAGE = "webhooks:manage"
ACCOUNTING_SYNC = "accounting:sync"
CRM_WRITE = "crm:write"
VENDORS_WRITE = "vendors:write"
PAYMENTS_REQUEST = "payments:request"
# A separate grant, never implied by payments:request or any other scope: the maker's
# application should not hold it (fintech/payments/services/approvals.py).
PAYMENTS_APPROVE = "payments:approve"
CASH_READ = "cash:read"
DISPUTES_WRITE = "disputes:write"

SCOPES: dict[str, str] = {
    PROFILES_READ: "Read the business profile the application acts for",
    BALANCES_READ: "Read wallet balances",
    RATES_READ: "Read exchange rates",
    QUOTES_WRITE: "Create and read quotes",
    BENEFICIARIES_READ: "Read beneficiaries",
    BENEFICIARIES_WRITE: "Create and deactivate beneficiaries",
    TRANSFERS_READ: "Read transfers",
    TRANSFERS_WRITE: "Create, fund and cancel transfers",
    LEDGER_READ: "Read wallet statements",
    COMPLIANCE_READ: "Read the compliance (KYC/KYB) status",
    WEBHOOKS_MANAGE: "Manage webhook subscriptions",
    ACCOUNTING_SYNC: "Connect accounting software and read the sync status of your objects",
    CRM_WRITE: "For CRM connectors: set the account manager; no financial data",
    VENDORS_WRITE: "Sync your ERP's vendors (create, update, deactivate) and read them",
    PAYMENTS_REQUEST: "Send ERP payment requests and batches, and read their status",
    PAYMENTS_APPROVE: "Approve or reject payment requests (a member's own grant)",
    CASH_READ: "Read the cash position",
    DISPUTES_WRITE: "Open, follow and withdraw disputes on your transfers",
}

ALL_SCOPES: tuple[str, ...] = tuple(SCOPES)
