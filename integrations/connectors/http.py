"""The base of every connector's HTTP client: explicit timeouts, errors marked transient or
permanent, and the partner's message kept for the operator."""

from __future__ import annotations

from typing import Any

import requests

from integrations.errors import PermanentError, TransientError

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class PartnerClient:
    partner = "partner"

    def __init__(self, *, base_url: str, api_key: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout_seconds
        self.session = requests.Session()

    def request(
        self, method: str, path: str, *, json: Any = None, idempotency_key: str = ""
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            response = self.session.request(
                method, url, json=json, headers=headers, timeout=self.timeout
            )
        except requests.Timeout as exc:
            raise TransientError(f"{self.partner}: timed out after {self.timeout} s") from exc
        except requests.RequestException as exc:
            raise TransientError(f"{self.partner}: {type(exc).__name__}: {exc}") from exc
        if response.status_code in TRANSIENT_STATUSES:
            raise TransientError(f"{self.partner}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(
                f"{self.partner}: HTTP {response.status_code}: {response.text[:300]}"
            )
        try:
            data: dict[str, Any] = response.json()
        except ValueError as exc:
            raise TransientError(f"{self.partner}: the answer is not JSON") from exc
        return data
