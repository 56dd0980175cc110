"""Providers that may call `/webhooks/<provider>/`: how to verify, parse and process each.

Adding a provider is an entry here: its secret (from settings), its verification, how to read
the event id, type and occurred-at from the body, and the handler that processes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime

from integrations import partner_signing
from integrations.models import InboundWebhook


class MalformedEvent(ValueError):
    """The body is signed but not an event we can read (reason in the message)."""


@dataclass(frozen=True)
class ParsedEvent:
    event_id: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What processing did: `processed`, or `ignored` with the reason (stale, already done)."""

    status: str
    note: str = ""


@dataclass(frozen=True)
class Provider:
    name: str
    secret_setting: str
    event_types: frozenset[str]
    handler_path: str  # "module:function" taking an InboundWebhook and a ParsedEvent
    # What a stored, verified message is answered with (Xero insists on 200).
    accepted_status: int = 202
    # Event types that only test our endpoint (Xero's intent to receive): verified and
    # answered, never stored.
    handshake_types: frozenset[str] = frozenset()

    def secret(self) -> str:
        return str(getattr(settings, self.secret_setting, ""))

    def verify(self, headers: dict[str, str], body: bytes) -> str:
        return partner_signing.verify(
            secret=self.secret(),
            header=headers.get(partner_signing.HEADER.lower()),
            body=body,
            tolerance_seconds=settings.INBOUND_WEBHOOK_TOLERANCE_SECONDS,
        ).value

    def verify_request(self, *, method: str, uri: str, headers: dict[str, str], body: bytes) -> str:
        """The verdict on a whole request. Providers that sign the request line too (HubSpot's
        v3 signature covers the method and the URI) override this; the rest sign the body."""
        return self.verify(headers, body)

    def parse(self, data: object) -> ParsedEvent:
        """The sandbox partners' envelope: {id, type, created_at, data}."""
        if not isinstance(data, dict):
            raise MalformedEvent("the body must be a JSON object")
        event_id, event_type = data.get("id"), data.get("type")
        if not isinstance(event_id, str) or not event_id or len(event_id) > 200:
            raise MalformedEvent("`id` must be a non-empty string of at most 200 characters")
        if not isinstance(event_type, str) or not event_type:
            raise MalformedEvent("`type` must be a non-empty string")
        occurred = data.get("created_at")
        occurred_at = parse_datetime(occurred) if isinstance(occurred, str) else None
        if occurred_at is None or occurred_at.tzinfo is None:
            raise MalformedEvent("`created_at` must be an ISO 8601 time with its offset")
        payload = data.get("data")
        if not isinstance(payload, dict):
            raise MalformedEvent("`data` must be an object")
        return ParsedEvent(
            event_id=event_id, type=event_type[:100], occurred_at=occurred_at, data=payload
        )

    def handler(self) -> Callable[[InboundWebhook, ParsedEvent], Outcome]:
        from importlib import import_module

        module, _, function = self.handler_path.partition(":")
        handler: Callable[[InboundWebhook, ParsedEvent], Outcome] = getattr(
            import_module(module), function
        )
        return handler


PROVIDERS: dict[str, Provider] = {
    "payout-sandbox": Provider(
        name="payout-sandbox",
        secret_setting="PAYOUT_SANDBOX_WEBHOOK_SECRET",  # noqa: S106 (a setting name)
        event_types=frozenset(
            {
                "payout.accepted",
                "payout.sent",
                "payout.failed",
                "payout.returned",
                "payout.recall_answered",
            }
        ),
        handler_path="integrations.connectors.payout.sandbox.handlers:on_partner_webhook",
    ),
    "kyc-sandbox": Provider(
        name="kyc-sandbox",
        secret_setting="KYC_SANDBOX_WEBHOOK_SECRET",  # noqa: S106 (a setting name)
        event_types=frozenset({"check.completed"}),
        handler_path="integrations.connectors.kyc.sandbox.handlers:on_provider_webhook",
    ),
}


def register_provider(provider: Provider) -> None:
    """A connector's provider (its `register()` calls this at start-up)."""
    PROVIDERS[provider.name] = provider
