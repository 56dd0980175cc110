"""Where the Xero sandbox is and how to connect to it (local runs): its URLs, the sandbox
app's credentials, the webhook key and the tenants (the default org is created if missing)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.models import XeroSandboxOrg
from integrations.simulators.xero.orgs import org_default


class Command(BaseCommand):
    help = "Print the Xero sandbox's URLs, app credentials and tenants (docs/xero-sandbox.md)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("the Xero sandbox's secrets are shown in local runs only")
        org_default()
        base = settings.XERO_SANDBOX_BASE_URL
        lines = [
            f"Xero sandbox:   {base}/  (docs/xero-sandbox.md)",
            f"  authorize:    {base}/identity/connect/authorize",
            f"  token:        {base}/identity/connect/token",
            f"  connections:  {base}/connections",
            f"  api:          {base}/api.xro/2.0/",
            f"  client_id:    {settings.XERO_SANDBOX_CLIENT_ID}",
            f"  client_secret:{' '}{settings.XERO_SANDBOX_CLIENT_SECRET}",
            f"  webhooks to:  {settings.XERO_SANDBOX_WEBHOOK_URL}",
            f"  webhook key:  {settings.XERO_WEBHOOK_KEY}",
            "  tenants:",
        ]
        for org in XeroSandboxOrg.objects.order_by("created_at"):
            lines.append(f"    {org.pk}  {org.name}  ({', '.join(org.currencies)})")
        self.stdout.write("\n".join(lines))
