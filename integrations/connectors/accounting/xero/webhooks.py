"""Xero's webhooks in, at `/webhooks/xero/` (integrations.inbound stores, we process).

- Signature: `x-xero-signature` = base64(HMAC-SHA256(webhook key, raw body)), checked over the
  raw bytes before anything is read.
- Intent to receive: Xero first sends `{"events": []}`, some deliberately mis-signed; a valid
  one is answered 200 (and not stored), an invalid one 401, or Xero keeps the subscription off.
- Each delivery is stored once (its id is a hash of the body: Xero retries the same bytes) and
  processed later: for each event about an object we synced, we read the object from Xero,
  keep its new version, and where it contradicts what we told Xero (voided, deleted,
  archived, another total) raise a SyncMismatch for operators. Neither side is overwritten.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.connectors.accounting import followup
from integrations.connectors.accounting.xero.client import PROVIDER, XeroClient
from integrations.errors import PermanentError
from integrations.inbound.providers import MalformedEvent, Outcome, ParsedEvent, Provider
from integrations.models import InboundWebhook
from integrations.sync.models import Connection, SyncJob

HEADER = "x-xero-signature"
EVENTS = "xero.events"
HANDSHAKE = "xero.intent_to_receive"
COLLECTIONS = {"INVOICE": "Invoices", "CONTACT": "Contacts", "CREDITNOTE": "CreditNotes"}
GONE = frozenset({"VOIDED", "DELETED", "ARCHIVED"})


def signature(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


class XeroProvider(Provider):
    def verify(self, headers: dict[str, str], body: bytes) -> str:
        given = headers.get(HEADER)
        if not given:
            return InboundWebhook.Verdict.MISSING.value
        key = self.secret()
        if not key or not hmac.compare_digest(signature(key, body), given.strip()):
            return InboundWebhook.Verdict.INVALID.value
        return InboundWebhook.Verdict.VALID.value

    def parse(self, data: object) -> ParsedEvent:
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            raise MalformedEvent("a Xero webhook is an object with an `events` list")
        events = data["events"]
        if not events:
            return ParsedEvent(event_id="", type=HANDSHAKE, occurred_at=timezone.now(), data=data)
        for index, event in enumerate(events):
            if not isinstance(event, dict) or not all(
                isinstance(event.get(k), str) and event.get(k)
                for k in ("resourceId", "tenantId", "eventCategory", "eventType")
            ):
                raise MalformedEvent(
                    f"events[{index}] needs resourceId, tenantId, eventCategory and eventType"
                )
        times = [parse_datetime(str(e.get("eventDateUtc", ""))) for e in events]
        stamps = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in times if t]
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        return ParsedEvent(
            event_id=f"xero:{digest[:40]}",
            type=EVENTS,
            occurred_at=max(stamps) if stamps else timezone.now(),
            data=data,
        )


PROVIDER_ENTRY = XeroProvider(
    name=PROVIDER,
    secret_setting="XERO_WEBHOOK_KEY",  # noqa: S106 (a setting name)
    event_types=frozenset({EVENTS}),
    handler_path="integrations.connectors.accounting.xero.webhooks:on_xero_webhook",
    accepted_status=200,
    handshake_types=frozenset({HANDSHAKE}),
)


def _compare(job: SyncJob, current: dict[str, Any] | None) -> str:
    if current is None:
        return followup.compare(job, None, label="Xero", version="", gone=GONE)
    theirs = {
        "total": str(current.get("Total", current.get("Amount", ""))),
        "currency": str(current.get("CurrencyCode", "")),
        "status": str(current.get("Status", current.get("ContactStatus", ""))),
    }
    version = str(current.get("UpdatedDateUTC", ""))
    return followup.compare(job, theirs, label="Xero", version=version, gone=GONE)


def on_xero_webhook(row: InboundWebhook, event: ParsedEvent) -> Outcome:
    notes: list[str] = []
    unknown: list[str] = []
    for item in event.data["events"]:
        tenant, resource = str(item["tenantId"]), str(item["resourceId"])
        connections = Connection.objects.filter(provider=PROVIDER, tenant_id=tenant).exclude(
            status=Connection.Status.DISCONNECTED
        )
        if not connections:
            unknown.append(f"unknown tenant {tenant}")
            continue
        collection = COLLECTIONS.get(str(item["eventCategory"]).upper())
        for connection in connections:
            jobs = list(
                SyncJob.objects.filter(
                    connection=connection, external_id=resource, state=SyncJob.State.SYNCED
                )
            )
            if not jobs or collection is None:
                notes.append(f"{item['eventCategory']} {resource}: not one we synced")
                continue
            with XeroClient(connection) as client:
                current = client.get(collection, resource)
            notes.extend(_compare(job, current) for job in jobs)
    if unknown and not notes:
        raise PermanentError("; ".join(unknown))
    return Outcome("processed", "; ".join(notes + unknown)[:1000])
