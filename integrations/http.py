"""Outbound HTTP for every connector: the base of each partner's client (explicit timeouts,
errors marked transient or permanent, the partner's message kept for the operator), and
connections pinned to the address the SSRF check approved.

`pinned_session(url)` resolves the host once (integrations/ssrf.py), checks every
address, and returns a session whose connections go to the checked address: the name is never
resolved again, so a DNS answer changed between the check and the connection (rebinding) is
not followed. The Host header, TLS SNI and certificate verification still use the host name.
Use it (or `safe_post`) for every URL a customer or partner chose.

Every call made through these carries the current request id as `X-Request-Id` (the API
request, or the task it caused: fintech/core/logs.py), so the partner's logs and ours meet.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from fintech.core.logs import current_request_id
from fintech.core.metrics import metric_incr
from integrations.errors import PermanentError, TransientError
from integrations.ssrf import Resolved, UnsafeUrl, resolve_checked

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
REQUEST_ID_HEADER = "X-Request-Id"


def with_request_id(headers: Any) -> None:
    """Add the current request id to an outbound request's headers (unless one is set)."""
    request_id = current_request_id()
    if request_id and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = request_id


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
        with_request_id(headers)
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            response = self.session.request(
                method, url, json=json, headers=headers, timeout=self.timeout
            )
        except requests.Timeout as exc:
            metric_incr("provider_timeouts", labels={"provider": self.partner})
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


class PinnedAdapter(HTTPAdapter):
    """Connects to `resolved`'s checked addresses for its host (the next one when a connection
    cannot be made, in the resolver's order, as a plain connect would), and refuses any other
    host."""

    def __init__(self, resolved: Resolved) -> None:
        self.resolved = resolved
        self.addresses = [
            f"[{a}]" if isinstance(a, ipaddress.IPv6Address) else str(a) for a in resolved.addresses
        ]
        self.address = self.addresses[0]
        super().__init__(max_retries=0)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        # `proxies` is ignored on purpose: a proxy would resolve the name again itself.
        with_request_id(request.headers)
        failed: requests.ConnectionError | None = None
        for address in self.addresses:
            self.address = address
            try:
                return super().send(
                    request, stream=stream, timeout=timeout, verify=verify, cert=cert
                )
            except requests.ConnectionError as exc:
                reason = getattr(exc.args[0], "reason", None) if exc.args else None
                if not isinstance(reason, NewConnectionError | ConnectTimeoutError):
                    raise  # the request may have gone out: never send it twice
                failed = exc
        assert failed is not None
        raise failed

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        target = self.resolved
        if (host_params["host"].strip("[]").lower(), host_params["port"]) != (
            target.host,
            target.port,
        ):
            raise UnsafeUrl(f"this session may only call {target.host}:{target.port}")
        host_params["host"] = self.address
        if host_params["scheme"] == "https":
            # TLS for the name, not the address: SNI and the certificate's name check.
            pool_kwargs["server_hostname"] = target.host
            pool_kwargs["assert_hostname"] = target.host
        return host_params, pool_kwargs


def pinned_session(url: str, *, allow_private: bool | None = None) -> requests.Session:
    """A session for `url`'s host whose connections go to the address checked now; raises
    UnsafeUrl when the URL is refused."""
    resolved = resolve_checked(url, allow_private=allow_private)
    session = requests.Session()
    # No proxies from the environment: a proxy would resolve the name itself.
    session.trust_env = False
    session.headers["Host"] = resolved.host_header
    adapter = PinnedAdapter(resolved)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def safe_post(
    url: str,
    *,
    data: bytes,
    headers: dict[str, str],
    timeout: float,
    allow_private: bool | None = None,
) -> requests.Response:
    """POST to a URL someone else chose: checked, pinned, no redirects followed (one could
    point anywhere), the body streamed (the caller reads what it keeps, then closes)."""
    with pinned_session(url, allow_private=allow_private) as session:
        return session.post(
            url, data=data, headers=headers, timeout=timeout, allow_redirects=False, stream=True
        )
