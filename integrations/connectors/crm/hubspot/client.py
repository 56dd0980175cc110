"""HubSpot's CRM v3 API for one connection: token, call budget, errors sorted for the engine.

Every call: one call from the connection's budget (integrations/sync/limits.py: HubSpot counts
per 10 seconds and per day), a valid token (OAuth, refreshed one at a time by the engine; or a
private app's token, used as it is), a timeout. Errors: 429 -> RateLimited (the whole
connection waits: 10 s for HubSpot's TEN_SECONDLY_ROLLING, an hour for its DAILY limit, or the
Retry-After it sends), 400 -> PermanentError with HubSpot's messages (a property value it
refuses, an unknown owner), 401 -> the token is refreshed next time, or a private app's token
is dead (reconnect), 403 -> a missing scope (reconnect), 404 -> PermanentError, 409 -> the
Conflict the adapter reads, 5xx and timeouts -> TransientError.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from django.conf import settings

from integrations.errors import PermanentError, RateLimited, ReconnectRequired, TransientError
from integrations.http import pinned_session
from integrations.sync import limits, oauth
from integrations.sync.client import ConnectionClient
from integrations.sync.models import Connection

PROVIDER = "hubspot"
DAILY_WAIT_SECONDS = 3600.0


def allow_private() -> bool:
    # The sandbox is served by this project (127.0.0.1); the real HubSpot is public.
    return bool(settings.HUBSPOT_CONNECTOR == "sandbox" or settings.WEBHOOK_ALLOW_PRIVATE_URLS)


class Conflict(PermanentError):
    """HubSpot's 409: the object exists already (its id in `existing_id` when HubSpot says)."""

    def __init__(self, message: str, existing_id: str = "") -> None:
        super().__init__(message)
        self.existing_id = existing_id


class NotFound(PermanentError):
    pass


def messages(data: Any) -> str:
    """HubSpot's error body, flattened for the operator."""
    if not isinstance(data, dict):
        return ""
    parts = [str(data.get("message", ""))]
    for error in data.get("errors") or []:
        message = str((error or {}).get("message", ""))
        if message and message not in parts[0]:
            parts.append(message)
    return "; ".join(p for p in parts if p)


class HubSpotClient(ConnectionClient):
    provider = PROVIDER

    def __init__(self, connection: Connection) -> None:
        super().__init__(
            connection,
            base_url=settings.HUBSPOT_API_URL,
            timeout=settings.HUBSPOT_TIMEOUT_SECONDS,
            allow_private=allow_private(),
        )

    def request(
        self, method: str, path: str, *, body: Any = None, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, separators=(",", ":")).encode()
        url = f"{self.base_url}/{path.lstrip('/')}"
        response = self.send(method, url, params=params, data=data, headers=headers)
        return self._answer(response)

    def _answer(self, response: requests.Response) -> dict[str, Any]:
        connection_id = self.connection.pk
        remaining = response.headers.get("X-HubSpot-RateLimit-Remaining")
        if remaining is not None and remaining.isdigit():
            limits.call_limits_note(connection_id=connection_id, minute_remaining=int(remaining))
        status = response.status_code
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = {}
        if status == 429:
            policy = str(data.get("policyName", "")) if isinstance(data, dict) else ""
            try:
                wait = float(response.headers.get("Retry-After", ""))
            except ValueError:
                wait = DAILY_WAIT_SECONDS if policy == "DAILY" else 10.0
            limits.connection_block(connection_id=connection_id, seconds=wait)
            raise RateLimited(f"hubspot: 429 ({policy or 'rate limit'})", retry_after_seconds=wait)
        detail = messages(data) or response.text[:300]
        if status == 401:
            if not self.connection.refresh_token:
                reason = "hubspot: 401, the private app token was refused"
                oauth.connection_reconnect_required(connection_id=connection_id, reason=reason)
                raise ReconnectRequired(reason)
            Connection.objects.filter(pk=connection_id).update(token_expires_at=None)
            raise TransientError("hubspot: 401, the access token was refused; refreshing")
        if status == 403:
            reason = f"hubspot: 403, {detail}"
            oauth.connection_reconnect_required(connection_id=connection_id, reason=reason)
            raise ReconnectRequired(reason)
        if status == 404:
            raise NotFound(f"hubspot: 404, {detail}")
        if status == 409:
            existing = detail.rsplit("Existing ID: ", 1)[-1] if "Existing ID: " in detail else ""
            raise Conflict(f"hubspot: 409, {detail}", existing_id=existing.strip().rstrip("."))
        if status >= 500 or status in (408, 425):
            raise TransientError(f"hubspot: HTTP {status}")
        if status >= 400:
            raise PermanentError(f"hubspot: HTTP {status}: {detail}")
        if not isinstance(data, dict):
            raise TransientError("hubspot: the answer is not a JSON object")
        return data

    # --- the calls the connector makes -------------------------------------------------

    def search_one(self, object_type: str, body: dict[str, Any]) -> dict[str, Any] | None:
        data = self.request("POST", f"crm/v3/objects/{object_type}/search", body=body)
        results = data.get("results") or []
        return results[0] if results else None

    def create(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", f"crm/v3/objects/{object_type}", body=body)

    def update(self, object_type: str, object_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", f"crm/v3/objects/{object_type}/{object_id}", body=body)

    def get(self, object_type: str, object_id: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", f"crm/v3/objects/{object_type}/{object_id}")
        except NotFound:
            return None

    def property_get(self, object_type: str, name: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", f"crm/v3/properties/{object_type}/{name}")
        except NotFound:
            return None

    def property_create(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", f"crm/v3/properties/{object_type}", body=body)

    def owner_by_email(self, email: str) -> dict[str, Any] | None:
        results = self.request("GET", "crm/v3/owners", params={"email": email}).get("results")
        return results[0] if results else None

    def owner(self, owner_id: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", f"crm/v3/owners/{owner_id}")
        except NotFound:
            return None


def token_portal(*, access_token: str) -> dict[str, Any]:
    """HubSpot's information on an OAuth access token: its portal (`hub_id`), scopes."""
    url = f"{settings.HUBSPOT_API_URL}/oauth/v1/access-tokens/{access_token}"
    with pinned_session(url, allow_private=allow_private()) as session:
        try:
            response = session.get(url, timeout=settings.HUBSPOT_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise TransientError(f"hubspot token information: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise PermanentError(f"hubspot token information: HTTP {response.status_code}")
    data: dict[str, Any] = response.json()
    return data
