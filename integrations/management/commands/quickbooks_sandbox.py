"""Where the QuickBooks sandbox is and how to connect to it (local runs): its URLs, the sandbox
app's credentials, the webhook verifier token and the companies (the demo company is created
if missing)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.models import QuickBooksSandboxCompany
from integrations.simulators.quickbooks.companies import company_default, currencies_enabled


class Command(BaseCommand):
    help = "Print the QuickBooks sandbox's URLs, app credentials and companies."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("the QuickBooks sandbox's secrets are shown in local runs only")
        company_default()
        base = settings.QUICKBOOKS_SANDBOX_BASE_URL
        lines = [
            f"QuickBooks sandbox: {base}/  (docs/quickbooks-sandbox.md)",
            f"  authorize:    {base}/oauth2/authorize",
            f"  token:        {base}/oauth2/tokens/bearer",
            f"  revoke:       {base}/oauth2/revoke",
            f"  api:          {base}/v3/company/<realmId>/",
            f"  client_id:    {settings.QUICKBOOKS_SANDBOX_CLIENT_ID}",
            f"  client_secret:{' '}{settings.QUICKBOOKS_SANDBOX_CLIENT_SECRET}",
            f"  webhooks to:  {settings.QUICKBOOKS_SANDBOX_WEBHOOK_URL}",
            f"  verifier:     {settings.QUICKBOOKS_WEBHOOK_VERIFIER}",
            "  companies (realmId):",
        ]
        for company in QuickBooksSandboxCompany.objects.order_by("created_at"):
            currencies = ", ".join(sorted(currencies_enabled(company)))
            lines.append(f"    {company.realm_id}  {company.name}  ({currencies})")
        self.stdout.write("\n".join(lines))
