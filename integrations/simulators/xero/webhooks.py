"""Xero's webhooks from the sandbox: a change (made "by a Xero user" over the control
endpoint, or by the app when the org has `webhooks_on_api_changes`) becomes a row holding the
exact body to send, with its event sequence number. The row is sent after commit by the task
`integrations.sandbox_xero_webhook_send` (the scanner finds it if the message is lost), signed
`x-xero-signature: base64(HMAC-SHA256(XERO_WEBHOOK_KEY, raw body))`. Not acknowledged with a
2xx, it is sent again after common.WEBHOOK_RESEND_DELAYS, then given up (last_status says why).

`intent_to_receive` is Xero's subscription handshake: two POSTs with no events, one signed
correctly (the receiver must answer 200) and one signed wrongly (it must answer 401).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
from typing import Any

import requests
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from integrations.models import XeroSandboxOrg, XeroSandboxWebhook
from integrations.simulators.common import (
    CALLBACK_TIMEOUT_SECONDS,
    steps_due,
    webhook_deliver,
    webhook_queue,
)

TASK = "integrations.sandbox_xero_webhook_send"
RESOURCES = {"INVOICE": "Invoices", "CONTACT": "Contacts", "CREDITNOTE": "CreditNotes"}
CATEGORIES = {"Invoice": "INVOICE", "Contact": "CONTACT", "CreditNote": "CREDITNOTE"}


def sign(body: bytes, key: str | None = None) -> str:
    secret = (settings.XERO_WEBHOOK_KEY if key is None else key).encode()
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def _entropy() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))


def event_queue(
    *, org: XeroSandboxOrg, kind: str, resource_id: str, event_type: str, data: dict[str, Any]
) -> XeroSandboxWebhook | None:
    """Inside the caller's transaction: the webhook for one change of `kind` (Invoice, Contact,
    CreditNote; other kinds have no webhooks at Xero) to XERO_SANDBOX_WEBHOOK_URL."""
    category = CATEGORIES.get(kind)
    url = settings.XERO_SANDBOX_WEBHOOK_URL
    if category is None or not url:
        return None
    # Why the conditional increment: each change gets its own sequence number, even when
    # several workers queue webhooks for the same org at once.
    XeroSandboxOrg.objects.filter(pk=org.pk).update(event_sequence=F("event_sequence") + 1)
    sequence = XeroSandboxOrg.objects.values_list("event_sequence", flat=True).get(pk=org.pk)
    event: dict[str, Any] = {
        "resourceUrl": f"{settings.XERO_SANDBOX_BASE_URL}/api.xro/2.0/{RESOURCES[category]}/"
        f"{resource_id}",
        "resourceId": resource_id,
        "eventDateUtc": timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
        "eventType": event_type,
        "eventCategory": category,
        "tenantId": str(org.pk),
        "tenantType": "ORGANISATION",
    }
    if category == "CREDITNOTE":
        event["data"] = {"Type": data.get("Type"), "Status": data.get("Status")}
    body = {
        "events": [event],
        "firstEventSequence": sequence,
        "lastEventSequence": sequence,
        "entropy": _entropy(),
    }
    hook: XeroSandboxWebhook = webhook_queue(XeroSandboxWebhook, url=url, body=body, org=org)
    return hook


def webhook_send(*, webhook_id: str) -> str:
    """Send the webhook if it is due and nobody else is on it: "delivered", "retry",
    "gave up" or "skipped"."""
    return webhook_deliver(
        XeroSandboxWebhook, webhook_id, lambda body: {"x-xero-signature": sign(body)}
    )


def webhook_steps_due() -> list[Any]:
    return steps_due(XeroSandboxWebhook)


def intent_to_receive(*, org: XeroSandboxOrg, url: str | None = None) -> dict[str, Any]:
    """Xero's handshake: one correctly and one wrongly signed empty batch; the receiver passes
    when it answers 200 to the first and 401 to the second."""
    target = url or settings.XERO_SANDBOX_WEBHOOK_URL
    answers: dict[str, Any] = {}
    for name, key in (("valid", None), ("invalid", secrets.token_urlsafe(16))):
        body = json.dumps(
            {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": _entropy()},
            separators=(",", ":"),
        ).encode()
        try:
            response = requests.post(
                target,
                data=body,
                headers={"Content-Type": "application/json", "x-xero-signature": sign(body, key)},
                timeout=CALLBACK_TIMEOUT_SECONDS,
                allow_redirects=False,
            )
            answers[name] = response.status_code
        except requests.RequestException as exc:
            answers[name] = type(exc).__name__
    answers["ok"] = answers["valid"] == 200 and answers["invalid"] == 401
    return answers
