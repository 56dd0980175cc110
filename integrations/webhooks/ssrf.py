"""Server-side request forgery guard for subscriber URLs.

A customer chooses where we POST. Without a guard they could make our servers call the
metadata service (169.254.169.254), Redis on localhost or anything on the private network.
In production (WEBHOOK_ALLOW_PRIVATE_URLS false) a URL must be http(s) and every address its
host resolves to must be public. Checked when the endpoint is saved and again before each
attempt (DNS can change in between); redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
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


def check_url(url: str, *, allow_private: bool | None = None) -> None:
    """Raise UnsafeUrl when we must not POST to `url`."""
    if allow_private is None:
        allow_private = settings.WEBHOOK_ALLOW_PRIVATE_URLS
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
    if allow_private:
        return
    port = port or (443 if parts.scheme == "https" else 80)
    for address in _addresses(parts.hostname, port):
        if not _is_public(address):
            raise UnsafeUrl(
                f"host {parts.hostname!r} resolves to {address}, which is not a public address"
            )
