"""Xero's Accounting API for one connection: tokens, tenant header, call budget, errors.

Every call: one call from the connection's budget (integrations/sync/limits.py), a valid
access token (refreshed one at a time, integrations/sync/oauth.py), `xero-tenant-id`, an
`Idempotency-Key` on every write, a timeout. Answers are read with Decimal numbers (never
float). Errors are sorted for the engine: 429 -> RateLimited (Retry-After honoured for the
whole connection), 400 -> PermanentError with Xero's validation messages, 401 -> the token
is refreshed next time (transient), 403 -> the organisation disconnected us (reconnect), 5xx
and timeouts -> TransientError.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings

from integrations.connectors.accounting.base import AccountingClient
from integrations.errors import PermanentError, RateLimited, ReconnectRequired, TransientError
from integrations.http import pinned_session
from integrations.sync import limits, oauth
from integrations.sync.adapters import Tenant
from integrations.sync.models import Connection

PROVIDER = "xero"


def _allow_private() -> bool:
    # The sandbox is served by this project (127.0.0.1); the real Xero is public.
    return bool(settings.XERO_CONNECTOR == "sandbox" or settings.WEBHOOK_ALLOW_PRIVATE_URLS)


def validation_messages(data: Any) -> str:
    """Xero's ValidationException, flattened for the operator: every message, once."""
    if not isinstance(data, dict):
        return ""
    messages: list[str] = []
    for element in data.get("Elements") or []:
        for error in (element or {}).get("ValidationErrors") or []:
            message = str((error or {}).get("Message", ""))
            if message and message not in messages:
                messages.append(message)
    return "; ".join(messages) or str(data.get("Message") or data.get("Detail") or "")


class XeroClient(AccountingClient):
    provider = PROVIDER

    def __init__(self, connection: Connection) -> None:
        super().__init__(
            connection,
            base_url=settings.XERO_API_URL,
            timeout=settings.XERO_TIMEOUT_SECONDS,
            allow_private=_allow_private(),
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        idempotency_key: str = "",
    ) -> dict[str, Any]:
        headers = {"xero-tenant-id": self.connection.tenant_id}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key[:128]
        response = self.json_call(method, path, params=params, body=body, headers=headers)
        return self._answer(response)

    def _answer(self, response: requests.Response) -> dict[str, Any]:
        connection_id = self.connection.pk
        remaining = response.headers.get("X-MinLimit-Remaining")
        if remaining is not None and remaining.isdigit():
            limits.call_limits_note(connection_id=connection_id, minute_remaining=int(remaining))
        status = response.status_code
        if status == 429:
            try:
                wait = float(response.headers.get("Retry-After", "60"))
            except ValueError:
                wait = 60.0
            limits.connection_block(connection_id=connection_id, seconds=wait)
            problem = response.headers.get("X-Rate-Limit-Problem", "limit")
            raise RateLimited(f"xero: 429 ({problem} limit)", retry_after_seconds=wait)
        try:
            data = json.loads(response.content, parse_float=Decimal) if response.content else {}
        except ValueError:
            data = {}
        if status == 401:
            # The access token was refused: take a new one next time (transient).
            Connection.objects.filter(pk=connection_id).update(token_expires_at=None)
            raise TransientError("xero: 401, the access token was refused; refreshing")
        if status == 403:
            reason = "xero: 403, this organisation no longer authorises us"
            oauth.connection_reconnect_required(connection_id=connection_id, reason=reason)
            raise ReconnectRequired(reason)
        if status == 404:
            raise PermanentError("xero: 404, not found")
        if status >= 500 or status in (408, 425):
            raise TransientError(f"xero: HTTP {status}")
        if status >= 400:
            detail = validation_messages(data) or response.text[:300]
            raise PermanentError(f"xero: HTTP {status}: {detail}")
        if not isinstance(data, dict):
            raise TransientError("xero: the answer is not a JSON object")
        return data

    # --- the calls the connector makes -------------------------------------------------

    def find(self, collection: str, *, field: str, value: str) -> dict[str, Any] | None:
        """The first object of `collection` whose `field` equals `value` (our reference)."""
        if '"' in value or "\\" in value:
            raise PermanentError(f"reference {value!r} cannot be searched in Xero")
        data = self.request("GET", collection, params={"where": f'{field}=="{value}"'})
        items = data.get(collection) or []
        return items[0] if items else None

    def get(self, collection: str, external_id: str) -> dict[str, Any] | None:
        try:
            data = self.request("GET", f"{collection}/{external_id}")
        except PermanentError as exc:
            if "404" in exc.message:
                return None
            raise
        items = data.get(collection) or []
        return items[0] if items else None

    def put(self, collection: str, body: dict[str, Any], *, key: str) -> dict[str, Any]:
        """Create (Xero's PUT) and return the object Xero made."""
        data = self.request("PUT", collection, body=body, idempotency_key=key)
        return _first(data, collection)

    def post(self, path: str, body: dict[str, Any], *, key: str, collection: str) -> dict[str, Any]:
        """Update (Xero's POST) and return the object."""
        data = self.request("POST", path, body=body, idempotency_key=key)
        return _first(data, collection)

    def organisation(self) -> dict[str, Any]:
        return _first(self.request("GET", "Organisation"), "Organisations")

    def currencies(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "Currencies").get("Currencies") or [])

    def accounts(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "Accounts").get("Accounts") or [])


def _first(data: dict[str, Any], collection: str) -> dict[str, Any]:
    items = data.get(collection) or []
    if not items or not isinstance(items[0], dict):
        raise TransientError(f"xero: the answer has no {collection}")
    item: dict[str, Any] = items[0]
    errors = item.get("ValidationErrors") or []
    if item.get("HasValidationErrors") or errors:
        raise PermanentError(
            "xero: " + "; ".join(str(e.get("Message", "")) for e in errors if isinstance(e, dict))
        )
    return item


def tenants(*, access_token: str) -> list[Tenant]:
    """The organisations a new grant reaches (Xero's connections endpoint)."""
    url = settings.XERO_CONNECTIONS_URL
    with pinned_session(url, allow_private=_allow_private()) as session:
        try:
            response = session.get(
                url,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=settings.XERO_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise TransientError(f"xero connections: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise PermanentError(f"xero connections: HTTP {response.status_code}")
    return [
        Tenant(
            tenant_id=str(item.get("tenantId", "")),
            name=str(item.get("tenantName", "")),
            connection_ref=str(item.get("id", "")),
        )
        for item in response.json()
        if item.get("tenantType", "ORGANISATION") == "ORGANISATION"
    ]


def tenant_disconnect(*, connection: Connection) -> None:
    """DELETE our grant's connection to the organisation (Xero's disconnect)."""
    refs = [
        t.get("connection_ref")
        for t in connection.available_tenants
        if t.get("tenant_id") == connection.tenant_id and t.get("connection_ref")
    ]
    if not refs:
        return
    token = oauth.access_token(connection_id=connection.pk)
    url = f"{settings.XERO_CONNECTIONS_URL}/{refs[0]}"
    with pinned_session(url, allow_private=_allow_private()) as session:
        session.delete(
            url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=settings.XERO_TIMEOUT_SECONDS,
        )
