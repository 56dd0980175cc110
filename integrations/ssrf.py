"""Server-side request forgery guard for subscriber URLs.

A customer chooses where we POST. Without a guard they could make our servers call the
metadata service (169.254.169.254), Redis on localhost or anything on the private network.
In production (WEBHOOK_ALLOW_PRIVATE_URLS false) a URL must be http(s) and every address its
host resolves to must be public. Checked when the endpoint is saved and again before each
attempt (DNS can change in between); redirects are never followed.

Checking is not enough on its own: a host that resolves to a public address for the check and
to 127.0.0.1 a moment later, when the HTTP client resolves it again to connect (DNS
rebinding), would slip through. So `resolve_checked` resolves once and returns the addresses
it checked, and the caller connects to one of those (integrations/http.py:
`pinned_session`), never resolving the name again.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = ("http", "https")


class UnsafeUrl(ValueError):
    """The URL is refused; the message says why (shown to the customer and recorded)."""


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"host {host!r} does not resolve") from exc
    found = []
    for info in infos:
        address = str(info[4][0]).split("%")[0]  # drop an IPv6 zone id
        found.append(ipaddress.ip_address(address))
    return found


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _is_public(address.ipv4_mapped)
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


@dataclass(frozen=True)
class Resolved:
    """A URL's host, resolved once, with the addresses that passed the check."""

    scheme: str
    host: str  # lower case, without brackets
    port: int
    addresses: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _checked_form(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL without credentials; UnsafeUrl otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("the URL is malformed") from exc
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeUrl("the URL must be http or https")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeUrl("the URL must not carry credentials")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve_checked(url: str, *, allow_private: bool | None = None) -> Resolved:
    """Resolve `url`'s host once; raise UnsafeUrl when we must not call it. The caller must
    connect to one of the returned addresses (not resolve the host again)."""
    if allow_private is None:
        allow_private = settings.WEBHOOK_ALLOW_PRIVATE_URLS
    scheme, host, port = _checked_form(url)
    addresses = _addresses(host, port)
    if not addresses:
        raise UnsafeUrl(f"host {host!r} does not resolve")
    if not allow_private:
        for address in addresses:
            if not _is_public(address):
                raise UnsafeUrl(
                    f"host {host!r} resolves to {address}, which is not a public address"
                )
    return Resolved(scheme=scheme, host=host, port=port, addresses=tuple(addresses))


def check_url(url: str, *, allow_private: bool | None = None) -> None:
    """Raise UnsafeUrl when we must not POST to `url` (when it is saved; to connect, use
    `resolve_checked` and connect to what it checked)."""
    if allow_private is None:
        allow_private = settings.WEBHOOK_ALLOW_PRIVATE_URLS
    _checked_form(url)
    if not allow_private:
        resolve_checked(url, allow_private=False)
