"""QuickBooks Online's webhooks in, at `/webhooks/quickbooks/` (integrations.inbound stores,
we process).

- Signature: `intuit-signature` = base64(HMAC-SHA256(verifier token, raw body)), checked over
  the raw bytes before anything is read.
- Two shapes, both accepted: the classic `{"eventNotifications": [{"realmId", "dataChangeEvent":
  {"entities": [{"name", "id", "operation", "lastUpdated"}]}}]}` and CloudEvents (a JSON array
  of `{"specversion", "id", "type": "qbo.<entity>.<created|updated|deleted>.v1", "time",
  "intuitentityid", "intuitaccountid", ...}`). Both become one list of changes.
- Each delivery is stored once (its id: a hash of the body) and processed later: each change
  to an object we synced is fetched (one Change Data Capture call for a burst) and compared
  with what we synced (followup.py); a deletion, a void or another total raises a
  SyncMismatch for operators. Neither side is overwritten. A realm no connection knows is
  named as the failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.connectors.accounting.quickbooks.followup import Change, follow_up
from integrations.errors import PermanentError
from integrations.inbound.providers import MalformedEvent, Outcome, ParsedEvent, Provider
from integrations.models import InboundWebhook
from integrations.sync.models import Connection

PROVIDER = "quickbooks"
HEADER = "intuit-signature"
EVENTS = "quickbooks.events"


def signature(verifier_token: str, body: bytes) -> str:
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _when(value: object) -> datetime | None:
    at = parse_datetime(str(value or ""))
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at


def changes_of(data: Any) -> list[Change]:
    """The changes a delivery reports, from either shape; MalformedEvent names what is off."""
    changes: list[Change] = []
    if isinstance(data, list):  # CloudEvents
        for index, event in enumerate(data):
            kind = str((event or {}).get("type", "")) if isinstance(event, dict) else ""
            parts = kind.split(".")
            if len(parts) < 3 or parts[0] != "qbo":
                raise MalformedEvent(f"[{index}].type must be qbo.<entity>.<operation>.v1")
            realm, entity_id = event.get("intuitaccountid"), event.get("intuitentityid")
            if not realm or not entity_id:
                raise MalformedEvent(f"[{index}] needs intuitaccountid and intuitentityid")
            changes.append(
                Change(str(realm), parts[1], str(entity_id), parts[2], _when(event.get("time")))
            )
        return changes
    if not isinstance(data, dict) or not isinstance(data.get("eventNotifications"), list):
        raise MalformedEvent("a QuickBooks webhook is eventNotifications or a CloudEvents array")
    for n, notification in enumerate(data["eventNotifications"]):
        realm = (notification or {}).get("realmId") if isinstance(notification, dict) else None
        entities = ((notification or {}).get("dataChangeEvent") or {}).get("entities")
        if not realm or not isinstance(entities, list):
            raise MalformedEvent(f"eventNotifications[{n}] needs realmId and dataChangeEvent")
        for e, entity in enumerate(entities):
            if not isinstance(entity, dict) or not entity.get("name") or not entity.get("id"):
                raise MalformedEvent(f"eventNotifications[{n}].entities[{e}] needs name and id")
            changes.append(
                Change(
                    str(realm),
                    str(entity["name"]),
                    str(entity["id"]),
                    str(entity.get("operation", "")),
                    _when(entity.get("lastUpdated")),
                )
            )
    return changes


class QuickBooksProvider(Provider):
    def verify(self, headers: dict[str, str], body: bytes) -> str:
        given = headers.get(HEADER)
        if not given:
            return InboundWebhook.Verdict.MISSING.value
        token = self.secret()
        if not token or not hmac.compare_digest(signature(token, body), given.strip()):
            return InboundWebhook.Verdict.INVALID.value
        return InboundWebhook.Verdict.VALID.value

    def parse(self, data: object) -> ParsedEvent:
        changes = changes_of(data)
        if not changes:
            raise MalformedEvent("the delivery reports no change")
        stamps = [c.at for c in changes if c.at is not None]
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        return ParsedEvent(
            event_id=f"qbo:{digest[:40]}",
            type=EVENTS,
            occurred_at=max(stamps) if stamps else timezone.now(),
            data={"payload": data},
        )


PROVIDER_ENTRY = QuickBooksProvider(
    name=PROVIDER,
    secret_setting="QUICKBOOKS_WEBHOOK_VERIFIER",  # noqa: S106 (a setting name)
    event_types=frozenset({EVENTS}),
    handler_path="integrations.connectors.accounting.quickbooks.webhooks:on_quickbooks_webhook",
    accepted_status=200,
)


def on_quickbooks_webhook(row: InboundWebhook, event: ParsedEvent) -> Outcome:
    """Each change to an object we synced fetched (CDC for a burst) and compared with what
    we synced (followup.py); a realm no connection knows is named."""
    notes: list[str] = []
    unknown: list[str] = []
    by_realm: dict[str, list[Change]] = {}
    for change in changes_of(event.data["payload"]):
        by_realm.setdefault(change.realm_id, []).append(change)
    for realm, changes in by_realm.items():
        connections = Connection.objects.filter(provider=PROVIDER, tenant_id=realm).exclude(
            status=Connection.Status.DISCONNECTED
        )
        if not connections:
            unknown.append(f"unknown realm {realm}")
            continue
        for connection in connections:
            notes.extend(follow_up(connection, changes))
    if unknown and not notes:
        raise PermanentError("; ".join(sorted(set(unknown))))
    return Outcome("processed", "; ".join(notes + sorted(set(unknown)))[:1000])
