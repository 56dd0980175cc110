"""Subscriber URLs in production mode: only http(s) to public addresses."""

from __future__ import annotations

import socket

import pytest
import requests

from integrations.http import pinned_session, safe_post
from integrations.ssrf import UnsafeUrl, check_url


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


# --- DNS rebinding: connect to the address that was checked ----------------------------------

NAME = "hooks.example.test"


@pytest.fixture
def rebinding_dns(monkeypatch):
    """A resolver we control: NAME answers 127.0.0.1 first, then an address nothing listens
    on (TEST-NET-3), as a rebinding attacker's DNS would. Other names resolve as usual."""
    real = socket.getaddrinfo
    answers = ["127.0.0.1", "203.0.113.9"]
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != NAME:
            return real(host, port, *args, **kwargs)
        address = answers[min(len(asked), len(answers) - 1)]
        asked.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    rebinding_dns, receiver
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    url = f"http://{NAME}:{port}/hook"

    response = safe_post(url, data=b"{}", headers={"X-Test": "1"}, timeout=5, allow_private=True)

    assert response.status_code == 200
    response.close()
    assert rebinding_dns == ["127.0.0.1"]  # resolved once, for the check
    [got] = receiver.received
    assert got.headers["host"] == f"{NAME}:{port}"
    assert got.headers["x-test"] == "1"


def test_a_webhook_attempt_is_not_rebound(rebinding_dns, receiver, alice) -> None:
    from integrations.models import WebhookDelivery
    from integrations.webhooks.services import delivery_attempt, endpoint_send_test
    from tests.integrations.test_webhook_delivery import OPS, subscribe

    port = receiver.url.split(":")[2].split("/")[0]
    receiver.url = f"http://{NAME}:{port}/hook"
    endpoint = subscribe(alice, receiver).endpoint
    delivery_id = endpoint_send_test(actor=OPS, endpoint_id=endpoint.pk)
    rebinding_dns.clear()  # the attempt's own check starts from the first answer again

    assert delivery_attempt(delivery_id=delivery_id) == "succeeded"
    assert rebinding_dns == ["127.0.0.1"]
    assert receiver.received[0].headers["host"] == f"{NAME}:{port}"
    assert WebhookDelivery.objects.get(pk=delivery_id).status == "succeeded"


def test_when_a_checked_address_refuses_the_next_checked_one_is_tried(
    monkeypatch, receiver
) -> None:
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != NAME:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        # Nothing listens on 127.0.0.2 (the receiver is bound to 127.0.0.1): refused at once.
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in ("127.0.0.2", "127.0.0.1")
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    port = receiver.url.split(":")[2].split("/")[0]
    response = safe_post(
        f"http://{NAME}:{port}/hook", data=b"{}", headers={}, timeout=5, allow_private=True
    )
    assert response.status_code == 200
    response.close()
    assert asked == [NAME]
    assert len(receiver.received) == 1


def test_a_pinned_session_calls_no_other_host(rebinding_dns, receiver) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    session = pinned_session(f"http://{NAME}:{port}/hook", allow_private=True)
    with session, pytest.raises(requests.RequestException, match="may only call"):
        session.get(f"http://127.0.0.2:{port}/elsewhere", timeout=5)
    assert receiver.received == []


def _self_signed(tmp_path, name: str) -> tuple[str, str]:
    """A certificate for `name` (and only it), as files: (cert, key)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


def test_https_keeps_the_name_for_sni_and_the_certificate(rebinding_dns, tmp_path) -> None:
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    cert, key = _self_signed(tmp_path, NAME)
    seen: dict[str, str | None] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen["host"] = self.headers["Host"]
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen.__setitem__("sni", name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        with pinned_session(f"https://{NAME}:{port}/hook", allow_private=True) as session:
            session.verify = cert  # trust this certificate only: its name is checked
            response = session.post(f"https://{NAME}:{port}/hook", data=b"{}", timeout=5)
        assert response.status_code == 204
        assert seen == {"sni": NAME, "host": f"{NAME}:{port}"}
        assert rebinding_dns == ["127.0.0.1"]
        # The same server under another name: the certificate does not match, refused.
        rebinding_dns.clear()
        with pinned_session(f"https://127.0.0.1:{port}/hook", allow_private=True) as session:
            session.verify = cert
            with pytest.raises(requests.exceptions.SSLError):
                session.post(f"https://127.0.0.1:{port}/hook", data=b"{}", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
