"""What every connector's HTTP client for one connection shares: a session pinned to the
provider's checked address (integrations.http), one call from the connection's budget and a
valid token before each request (limits.py, oauth.py), a timeout, and the metrics
`<provider>_calls`, `<provider>_call_ms`, `<provider>_timeouts` per connection. Each
connector's client adds its headers, its paths and how it reads the provider's answers."""

from __future__ import annotations

import time
from typing import Any, Self

import requests

from fintech.core.metrics import metric_incr
from integrations.errors import TransientError
from integrations.http import pinned_session
from integrations.sync import limits, oauth
from integrations.sync.models import Connection


class ConnectionClient:
    provider = "provider"  # names the metrics and the errors

    def __init__(
        self, connection: Connection, *, base_url: str, timeout: float, allow_private: bool
    ) -> None:
        self.connection = connection
        self.base_url = base_url
        self.timeout = timeout
        self.session = pinned_session(base_url, allow_private=allow_private)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def token(self) -> str:
        """One call from the budget (RateLimited when spent), then a valid access token."""
        limits.call_take(connection_id=self.connection.pk)
        return oauth.access_token(connection_id=self.connection.pk)

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """The request, timed and counted; a timeout or a connection error is transient."""
        labels = {"connection": str(self.connection.pk)}
        started = time.monotonic()
        try:
            return self.session.request(
                method, url, timeout=self.timeout, allow_redirects=False, **kwargs
            )
        except requests.Timeout as exc:
            metric_incr(f"{self.provider}_timeouts", labels=labels)
            metric_incr("provider_timeouts", labels={"provider": self.provider})
            raise TransientError(f"{self.provider}: timed out after {self.timeout} s") from exc
        except requests.RequestException as exc:
            raise TransientError(f"{self.provider}: {type(exc).__name__}: {exc}") from exc
        finally:
            elapsed_ms = int((time.monotonic() - started) * 1000)
            metric_incr(f"{self.provider}_call_ms", by=elapsed_ms, labels=labels)
            metric_incr(f"{self.provider}_calls", labels=labels)
