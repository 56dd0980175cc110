"""The CRM sandbox's webhooks: a change made "by a CRM user" (control endpoint) becomes a row
holding the exact body HubSpot would send (an array of events), sent after commit by the task
`integrations.sandbox_crm_webhook_send` (the scanner finds it if the message is lost), signed
with HubSpot's v3 signature (the app's client secret over method, URI, body and timestamp).
Not acknowledged with a 2xx, it is sent again after common.WEBHOOK_RESEND_DELAYS, then given up."""

from __future__ import annotations

import secrets
import time
from typing import Any

from django.conf import settings

from integrations.hubspot_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_v3
from integrations.models import CrmSandboxPortal, CrmSandboxWebhook
from integrations.simulators.common import steps_due, webhook_deliver, webhook_queue

TASK = "integrations.sandbox_crm_webhook_send"


def event_queue(
    *, portal: CrmSandboxPortal, events: list[dict[str, Any]]
) -> CrmSandboxWebhook | None:
    """Inside the caller's transaction: one delivery of `events` to CRM_SANDBOX_WEBHOOK_URL."""
    url = settings.CRM_SANDBOX_WEBHOOK_URL
    if not url or not events:
        return None
    now_ms = int(time.time() * 1000)
    body = [
        {
            # HubSpot's event ids are unique: two deliveries in one millisecond stay two.
            "eventId": secrets.randbelow(10**15) + index,
            "subscriptionId": 1,
            "portalId": portal.pk,
            "appId": 1,
            "occurredAt": now_ms,
            "attemptNumber": 0,
            "changeSource": "CRM_UI",
            **event,
        }
        for index, event in enumerate(events)
    ]
    return webhook_queue(CrmSandboxWebhook, url=url, body=body, portal=portal)


def signed_headers(*, url: str, body: str, secret: str | None = None) -> dict[str, str]:
    stamp = int(time.time() * 1000)
    signature = sign_v3(
        secret=settings.CRM_SANDBOX_CLIENT_SECRET if secret is None else secret,
        method="POST",
        uri=url,
        body=body,
        timestamp_ms=stamp,
    )
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature,
        TIMESTAMP_HEADER: str(stamp),
    }


def webhook_send(*, webhook_id: str) -> str:
    """ "delivered", "retry", "gave up" or "skipped" (common.webhook_deliver); the signature
    is made at each send, as HubSpot stamps each attempt."""
    return webhook_deliver(
        CrmSandboxWebhook,
        webhook_id,
        lambda body: signed_headers(url=_url(webhook_id), body=body.decode()),
    )


def _url(webhook_id: str) -> str:
    return CrmSandboxWebhook.objects.values_list("url", flat=True).get(pk=webhook_id)


def webhook_steps_due() -> list[Any]:
    return steps_due(CrmSandboxWebhook)
