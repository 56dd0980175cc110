"""Logs with the production formatter (JSON lines) captured from the root logger: the request id
on the API request's lines and in its response, and no IBAN, bearer token or secret anywhere,
whatever the code logs (an API flow, a partner call with a bearer token, careless log calls)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from fintech.core.logs import bind_request_id, clear_log_context, formatter, redact_text
from integrations.http import PartnerClient, safe_post
from tests.integrations.conftest import Receiver

DEMO_IBAN = "DE89370400440532013000"
DEMO_IBAN_PRINTED = "DE89 3704 0044 0532 0130 00"
PARTNER_TOKEN = "sk_live_4f9a8b7c6d5e4f3a2b1c"
REQUEST_ID = "req-e2e.42:abc"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything logged, at DEBUG, through the production JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    root = logging.getLogger()
    # hubspot-api-client's Configuration() sets the "urllib3" logger to WARNING (its debug=False
    # setter), so after any CRM test in this process urllib3's DEBUG lines would not reach us.
    urllib3_logger = logging.getLogger("urllib3")
    old_levels = root.level, urllib3_logger.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    urllib3_logger.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_levels[0])
    urllib3_logger.setLevel(old_levels[1])
    clear_log_context()


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def assert_no_secrets(text: str, *secrets: str) -> None:
    for secret in (DEMO_IBAN, DEMO_IBAN_PRINTED, PARTNER_TOKEN, *secrets):
        assert secret not in text, f"{secret!r} was logged"


def test_request_id_on_the_request_lines_and_in_the_response(alice_api, captured) -> None:
    response = alice_api.post(
        "/beneficiaries",
        {
            "holder_name": "Lieferant GmbH",
            "currency": "EUR",
            "country": "DE",
            "scheme": "iban",
            "details": {"iban": DEMO_IBAN, "bic": "COBADEFFXXX"},
        },
        X_REQUEST_ID=REQUEST_ID,
    )
    assert response.status_code == 201, response.content
    assert response["X-Request-Id"] == REQUEST_ID
    access = [line for line in lines(captured) if line.get("event") == "api_request"]
    assert access, captured.getvalue()
    assert access[-1]["request_id"] == REQUEST_ID
    assert access[-1]["status"] == 201
    assert access[-1]["path"] == "/api/v1/beneficiaries"
    assert_no_secrets(captured.getvalue(), alice_api.token)


@pytest.mark.parametrize("incoming", ["", "x" * 65, "bad id with spaces", "<script>", "a\nb"])
def test_an_insane_request_id_is_replaced(alice_api, captured, incoming) -> None:
    response = alice_api.get("/beneficiaries", X_REQUEST_ID=incoming)
    assert response.status_code == 200
    generated = response["X-Request-Id"]
    assert generated != incoming
    assert len(generated) == 36  # a UUID
    access = [line for line in lines(captured) if line.get("event") == "api_request"]
    assert access[-1]["request_id"] == generated


def test_careless_log_calls_are_redacted(captured) -> None:
    bind_request_id(REQUEST_ID)
    std = logging.getLogger("fintech.test")
    std.info("beneficiary details %s", {"iban": DEMO_IBAN, "bic": "COBADEFFXXX"})
    std.warning("paying to %s", DEMO_IBAN_PRINTED)
    std.info("calling the partner with Authorization: Bearer %s", PARTNER_TOKEN)
    std.info("token exchange answered access_token=%s&expires_in=3600", PARTNER_TOKEN)
    std.info('token exchange answered {"refresh_token": "%s"}', PARTNER_TOKEN)
    try:
        raise ValueError(f"bad account {DEMO_IBAN}")
    except ValueError:
        std.exception("failed")
    structlog.get_logger("fintech.test").info(
        "structured",
        password="hunter2-very-secret",
        client_secret="cs-very-secret",
        account_number="12345678",
        headers={"Authorization": f"Bearer {PARTNER_TOKEN}", "Accept": "application/json"},
        iban=DEMO_IBAN,
        note=f"iban {DEMO_IBAN}",
    )
    text = captured.getvalue()
    assert_no_secrets(text, "hunter2-very-secret", "cs-very-secret", "12345678")
    records = lines(captured)
    assert len(records) == 7
    assert all(r["request_id"] == REQUEST_ID for r in records)
    assert "bad account [REDACTED]" in records[5]["exception"]
    assert records[6]["headers"] == {"Authorization": "[REDACTED]", "Accept": "application/json"}
    assert records[6]["event"] == "structured"


def test_outbound_calls_carry_the_request_id_and_log_no_token(captured) -> None:
    """A connector call with a bearer token and a webhook-style POST, on a real HTTP server on
    127.0.0.1, with urllib3's DEBUG lines captured."""
    receiver = Receiver().start()
    try:
        bind_request_id(REQUEST_ID)
        client = PartnerClient(base_url=receiver.url, api_key=PARTNER_TOKEN, timeout_seconds=5)
        assert client.request("POST", "/payouts", json={"iban": DEMO_IBAN}) == {"ok": True}
        response = safe_post(receiver.url, data=b"{}", headers={}, timeout=5, allow_private=True)
        response.close()
        logging.getLogger("integrations.test").info(
            "partner answered for %s", {"Authorization": f"Bearer {PARTNER_TOKEN}"}
        )
    finally:
        receiver.stop()
    assert [r.headers.get("x-request-id") for r in receiver.received] == [REQUEST_ID] * 2
    assert receiver.received[0].headers["authorization"] == f"Bearer {PARTNER_TOKEN}"
    text = captured.getvalue()
    assert "127.0.0.1" in text  # urllib3's connection lines were captured
    assert_no_secrets(text)


def test_without_a_request_no_header_is_invented() -> None:
    clear_log_context()
    receiver = Receiver().start()
    try:
        safe_post(receiver.url, data=b"{}", headers={}, timeout=5, allow_private=True).close()
    finally:
        receiver.stop()
    assert "x-request-id" not in receiver.received[0].headers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"to {DEMO_IBAN}.", "to [REDACTED]."),
        ("GB29 NWBK 6016 1331 9268 19", "[REDACTED]"),
        ("Basic dXNlcjpwYXNz", "Basic [REDACTED]"),
        ("password=abc123&user=x", "password=[REDACTED]&user=x"),
        # Not IBANs: ids and amounts stay readable.
        ("transfer TR-2026-000123 of 1000.00 EUR", "transfer TR-2026-000123 of 1000.00 EUR"),
        ("ab0f3c2e-2b7d-4d8e-9a51-0c3f5e6a7b8c", "ab0f3c2e-2b7d-4d8e-9a51-0c3f5e6a7b8c"),
    ],
)
def test_redact_text(text, expected) -> None:
    assert redact_text(text) == expected
