"""QuickBooks' webhooks from the sandbox: every change to an object (by the app over the API,
or "by a QuickBooks user" over the control endpoint) becomes a row holding the exact body,
in the company's format:

- classic: `{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities": [{"name",
  "id", "operation", "lastUpdated"}]}}]}`, operation Create, Update, Delete, Void;
- CloudEvents: `[{"specversion": "1.0", "id", "source", "type": "qbo.<entity>.<created|
  updated|deleted|voided>.v1", "datacontenttype", "time", "intuitentityid",
  "intuitaccountid": <realm>, "data": {}}]`.

Signed `intuit-signature: base64(HMAC-SHA256(QUICKBOOKS_WEBHOOK_VERIFIER, raw body))`, sent
after commit by the task `integrations.sandbox_quickbooks_webhook_send` (found by scan_due if
its message is lost), sent again while not acknowledged (common.webhook_deliver).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from typing import Any

from django.conf import settings

from integrations.models import QuickBooksSandboxCompany as Company
from integrations.models import QuickBooksSandboxObject as Obj
from integrations.models import QuickBooksSandboxWebhook as Hook
from integrations.simulators.common import steps_due, webhook_deliver, webhook_queue

TASK = "integrations.sandbox_quickbooks_webhook_send"
HEADER = "intuit-signature"
PAST = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided"}


def sign(body: bytes, verifier: str | None = None) -> str:
    key = (settings.QUICKBOOKS_WEBHOOK_VERIFIER if verifier is None else verifier).encode()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def classic_body(company: Company, entity: str, object_id: str, operation: str, at: str) -> Any:
    return {
        "eventNotifications": [
            {
                "realmId": company.realm_id,
                "dataChangeEvent": {
                    "entities": [
                        {"name": entity, "id": object_id, "operation": operation, "lastUpdated": at}
                    ]
                },
            }
        ]
    }


def cloudevents_body(company: Company, entity: str, object_id: str, operation: str, at: str) -> Any:
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "intuit.sandbox",
            "type": f"qbo.{entity.lower()}.{PAST[operation]}.v1",
            "datacontenttype": "application/json",
            "time": at,
            "intuitentityid": object_id,
            "intuitaccountid": company.realm_id,
            "data": {},
        }
    ]


def change_queue(*, company: Company, row: Obj, operation: str) -> Hook | None:
    """Inside the caller's transaction: the webhook for one change, if the company sends
    them and a URL is set."""
    url = settings.QUICKBOOKS_SANDBOX_WEBHOOK_URL
    if not company.webhooks_on or not url:
        return None
    at = str(row.data.get("MetaData", {}).get("LastUpdatedTime", ""))
    shape = (
        cloudevents_body
        if company.webhook_format == Company.WebhookFormat.CLOUDEVENTS
        else classic_body
    )
    body = shape(company, row.entity, row.object_id, operation, at)
    hook: Hook = webhook_queue(Hook, url=url, body=body, company=company)
    return hook


def webhook_send(*, webhook_id: str) -> str:
    """ "delivered", "retry", "gave up" or "skipped" (common.webhook_deliver)."""
    return webhook_deliver(Hook, webhook_id, lambda body: {HEADER: sign(body)})


def webhook_steps_due() -> list[Any]:
    return steps_due(Hook)
