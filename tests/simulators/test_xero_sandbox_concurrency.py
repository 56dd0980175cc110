"""The sandbox under concurrent calls, as several connector workers make them: two payments
racing for one invoice's amount due, and one Idempotency-Key sent twice at once."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.simulators.test_xero_sandbox_api import contact_of, invoice_body

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(xero, method: str, path: str, bodies: list[dict], **headers: str) -> list:
    token = xero.session.token["access_token"]
    start = threading.Barrier(len(bodies))
    answers: list = []

    def call(body: dict) -> None:
        start.wait(10)
        answers.append(
            requests.request(
                method,
                f"{xero.api}/{path}",
                json=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "xero-tenant-id": xero.tenant_id,
                    "Accept": "application/json",
                    **headers,
                },
                timeout=20,
            )
        )

    threads = [threading.Thread(target=call, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


def test_two_payments_racing_for_one_invoice_cannot_both_fit(xero) -> None:
    alice = contact_of(xero)
    invoice = xero.ok("PUT", "Invoices", invoice_body(alice["ContactID"]))["Invoices"][0]
    payment = {
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "Account": {"Code": "092"},
        "Amount": 12.34,
    }
    answers = at_once(
        xero,
        "PUT",
        "Payments",
        [{"Payments": [{**payment, "Reference": f"P-{n}"}]} for n in range(2)],
    )
    assert sorted(a.status_code for a in answers) == [200, 400]
    refused = next(a for a in answers if a.status_code == 400).json()
    assert refused["Type"] == "ValidationException"
    paid = xero.ok("GET", f"Invoices/{invoice['InvoiceID']}")["Invoices"][0]
    assert (paid["Status"], len(paid["Payments"])) == ("PAID", 1)


def test_one_idempotency_key_sent_twice_at_once_creates_one_invoice(xero) -> None:
    alice = contact_of(xero)
    body = invoice_body(alice["ContactID"], reference="TR-TWICE")
    answers = at_once(xero, "PUT", "Invoices", [body, body], **{"Idempotency-Key": "twice-1"})
    statuses = sorted(a.status_code for a in answers)
    # The second is either a replay of the first (200) or told the first is in flight (409).
    assert statuses in ([200, 200], [200, 409])
    assert len(xero.ok("GET", 'Invoices?where=Reference=="TR-TWICE"')["Invoices"]) == 1
