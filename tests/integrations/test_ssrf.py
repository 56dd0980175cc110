"""Subscriber URLs in production mode: only http(s) to public addresses."""

from __future__ import annotations

import pytest

from integrations.webhooks.ssrf import UnsafeUrl, check_url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/hook", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "http or https"),
        ("http://127.0.0.1:8000/hook", "not a public address"),
        ("http://localhost/hook", "not a public address"),
        ("http://10.1.2.3/hook", "not a public address"),
        ("http://192.168.0.10/hook", "not a public address"),
        ("http://169.254.169.254/latest/meta-data/", "not a public address"),
        ("http://[::1]/hook", "not a public address"),
        ("http://[::ffff:127.0.0.1]/hook", "not a public address"),
        ("http://0.0.0.0/hook", "not a public address"),
        ("https://user:pw@93.184.215.14/hook", "credentials"),
        ("https:///hook", "no host"),
    ],
)
def test_production_refuses(url: str, why: str) -> None:
    with pytest.raises(UnsafeUrl, match=why):
        check_url(url, allow_private=False)


def test_production_accepts_a_public_address() -> None:
    check_url("https://93.184.215.14/hook", allow_private=False)


def test_local_mode_allows_loopback_but_still_only_http() -> None:
    check_url("http://127.0.0.1:8000/hook", allow_private=True)
    with pytest.raises(UnsafeUrl):
        check_url("ftp://127.0.0.1/hook", allow_private=True)
