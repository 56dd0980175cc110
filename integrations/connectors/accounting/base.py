"""What every accounting connector's client and package share: a JSON call on a connection
(the engine's ConnectionClient: its budget, a valid token, a timeout, timing metrics,
transport errors as TransientError), and the `register()` that plugs a connector into the
engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import requests

from integrations.connectors.accounting.wire import dumps
from integrations.sync.client import ConnectionClient


class AccountingClient(ConnectionClient):
    """The engine's client for one connection (budget, token, timeout, metrics), speaking
    JSON as the accounting APIs do: our amounts as exact decimals (wire.dumps)."""

    def json_call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        body: Any,
        headers: Mapping[str, str],
    ) -> requests.Response:
        sent = {
            "Authorization": f"Bearer {self.token()}",
            "Accept": "application/json",
            **headers,
        }
        data = None
        if body is not None:
            sent["Content-Type"] = "application/json"
            data = dumps(body)
        url = f"{self.base_url}/{path.lstrip('/')}"
        return self.send(method, url, params=dict(params or {}), data=data, headers=sent)


def connector_register(
    *,
    adapter: Any,
    handlers: Mapping[str, Callable[..., None]],
    enabled: Callable[[], bool],
    webhook_provider: Any,
    scans: Mapping[str, Callable[[], int]],
) -> None:
    """Plug an accounting connector in (its package's `register()`, at start-up)."""
    from integrations import registry
    from integrations.inbound.providers import register_provider
    from integrations.sync.adapters import register_adapter

    register_adapter(adapter)
    for event_type, handler in handlers.items():
        registry.register(event_type, handler, enabled=enabled)
    register_provider(webhook_provider)
    for name, scan in scans.items():
        registry.register_scan(name, scan)
