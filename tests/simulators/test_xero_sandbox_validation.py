"""Request bodies checked with Xero's own models (xero-python): a valid body of each kind
passes; a misspelt key, a bad enum and a missing required field are reported with their path.
Then the same refusals over HTTP, in Xero's ValidationException shape, with the business
rules Xero adds (archived account, currency not enabled, archived contact, overpayment,
unbalanced journal, inconsistent line amounts)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest

from integrations.simulators.xero.validation import validate_request
from tests.simulators.test_xero_sandbox_api import contact_of, invoice_body

CONTACT_ID = "2c6f9f59-7a36-4a8b-9a5e-2a8f3a1f0d11"
D = Decimal


def parsed(body: dict) -> dict:
    """As the sandbox reads a request: amounts as Decimal."""
    return json.loads(json.dumps(body, default=str), parse_float=Decimal)


VALID = {
    "Contacts": {
        "Contacts": [
            {"Name": "Alice Trading Ltd", "ContactNumber": "P-1", "DefaultCurrency": "EUR"}
        ]
    },
    "Invoices": {
        "Invoices": [
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": CONTACT_ID},
                "Date": "2026-12-01",
                "DueDate": "2026-12-15",
                "LineAmountTypes": "NoTax",
                "CurrencyCode": "EUR",
                "Reference": "TR-1",
                "Status": "AUTHORISED",
                "LineItems": [
                    {
                        "Description": "Fee",
                        "Quantity": D("1"),
                        "UnitAmount": D("12.34"),
                        "AccountCode": "200",
                    }
                ],
            }
        ]
    },
    "BankTransactions": {
        "BankTransactions": [
            {
                "Type": "RECEIVE",
                "Contact": {"ContactID": CONTACT_ID},
                "BankAccount": {"Code": "090"},
                "Date": "2026-12-01",
                "Reference": "FUND-1",
                "LineItems": [
                    {"Description": "Funding", "UnitAmount": D("1000.00"), "AccountCode": "810"}
                ],
            }
        ]
    },
    "Payments": {
        "Payments": [
            {
                "Invoice": {"InvoiceID": CONTACT_ID},
                "Account": {"Code": "090"},
                "Date": "2026-12-02",
                "Amount": D("12.34"),
                "Reference": "P-1",
            }
        ]
    },
    "CreditNotes": {
        "CreditNotes": [
            {
                "Type": "ACCRECCREDIT",
                "Contact": {"ContactID": CONTACT_ID},
                "Date": "2026-12-01",
                "LineAmountTypes": "NoTax",
                "LineItems": [
                    {
                        "Description": "Refund",
                        "Quantity": D("1"),
                        "UnitAmount": D("2.00"),
                        "AccountCode": "200",
                    }
                ],
            }
        ]
    },
    "ManualJournals": {
        "ManualJournals": [
            {
                "Narration": "FX margin",
                "Date": "2026-12-01",
                "JournalLines": [
                    {"LineAmount": D("3.21"), "AccountCode": "820"},
                    {"LineAmount": D("-3.21"), "AccountCode": "270"},
                ],
            }
        ]
    },
}


@pytest.mark.parametrize("model_name", sorted(VALID))
def test_a_valid_body_of_each_kind_passes(model_name) -> None:
    assert validate_request(model_name, VALID[model_name]) == []


def test_a_misspelt_key_is_reported_with_its_path() -> None:
    body = copy.deepcopy(VALID["Invoices"])
    body["Invoices"][0]["LineItems"][0]["AcountCode"] = body["Invoices"][0]["LineItems"][0].pop(
        "AccountCode"
    )
    assert validate_request("Invoices", body) == [
        "Invoices[0].LineItems[0].AcountCode: unknown field"
    ]


def test_a_bad_enum_is_reported_with_its_path() -> None:
    body = copy.deepcopy(VALID["Invoices"])
    body["Invoices"][0]["Type"] = "ACCRECC"
    (problem,) = validate_request("Invoices", body)
    assert problem.startswith("Invoices[0].Type: Invalid value for `type` (ACCRECC)")
    body = copy.deepcopy(VALID["Invoices"])
    body["Invoices"][0]["CurrencyCode"] = "EUX"
    assert validate_request("Invoices", body) == [
        "Invoices[0].CurrencyCode: 'EUX' is not a valid CurrencyCode"
    ]


def test_a_missing_required_field_is_reported_with_its_path() -> None:
    journal = copy.deepcopy(VALID["ManualJournals"])
    del journal["ManualJournals"][0]["Narration"]  # required by the SDK's model
    (problem,) = validate_request("ManualJournals", journal)
    assert problem.startswith(
        "ManualJournals[0].Narration: Invalid value for `narration`, must not be `None`"
    )
    invoice = copy.deepcopy(VALID["Invoices"])
    del invoice["Invoices"][0]["Contact"]  # required by Xero
    assert validate_request("Invoices", invoice) == [
        "Invoices[0].Contact: required field is missing"
    ]
    transaction = copy.deepcopy(VALID["BankTransactions"])
    del transaction["BankTransactions"][0]["BankAccount"]
    (problem,) = validate_request("BankTransactions", transaction)
    assert problem.startswith("BankTransactions[0].BankAccount:")


def test_wrong_types_and_dates_are_reported() -> None:
    body = copy.deepcopy(VALID["Invoices"])
    body["Invoices"][0]["LineItems"][0]["Quantity"] = "one"
    body["Invoices"][0]["DueDate"] = "next week"
    assert validate_request("Invoices", body) == [
        "Invoices[0].DueDate: Invalid datetime value 'next week'",
        "Invoices[0].LineItems[0].Quantity: a number is expected",
    ]


# --- over HTTP: Xero's shape, and Xero's business rules --------------------------------------

pytestmark_http = pytest.mark.django_db(transaction=True)


def refusal(response) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["ErrorNumber"], body["Type"], body["Message"]) == (
        10,
        "ValidationException",
        "A validation exception occurred",
    )
    return [e["Message"] for element in body["Elements"] for e in element["ValidationErrors"]]


@pytestmark_http
def test_refusals_over_http_in_xeros_shape(xero) -> None:
    alice = contact_of(xero)
    contact_id = alice["ContactID"]

    misspelt = invoice_body(contact_id)
    misspelt["Invoices"][0]["Refrence"] = misspelt["Invoices"][0].pop("Reference")
    assert refusal(xero.call("PUT", "Invoices", misspelt)) == [
        "Invoices[0].Refrence: unknown field"
    ]

    archived_account = invoice_body(contact_id)
    archived_account["Invoices"][0]["LineItems"][0]["AccountCode"] = "299"
    (message,) = refusal(xero.call("PUT", "Invoices", archived_account))
    assert "Account code '299' has been archived" in message

    unknown_account = invoice_body(contact_id)
    unknown_account["Invoices"][0]["LineItems"][0]["AccountCode"] = "999"
    assert refusal(xero.call("PUT", "Invoices", unknown_account)) == [
        "Account code '999' is not a valid code for this document."
    ]

    not_enabled = invoice_body(contact_id, CurrencyCode="JPY")
    assert refusal(xero.call("PUT", "Invoices", not_enabled)) == [
        "Organisation is not subscribed to currency JPY"
    ]

    inconsistent = invoice_body(contact_id)
    inconsistent["Invoices"][0]["LineItems"][0]["LineAmount"] = 12.35
    assert refusal(xero.call("PUT", "Invoices", inconsistent)) == [
        "The line total 12.35 does not match the expected line total 12.34"
    ]

    unbalanced = {
        "ManualJournals": [
            {
                "Narration": "oops",
                "JournalLines": [
                    {"LineAmount": 10, "AccountCode": "820"},
                    {"LineAmount": -9.99, "AccountCode": "270"},
                ],
            }
        ]
    }
    assert refusal(xero.call("PUT", "ManualJournals", unbalanced)) == [
        "The total debits (10.00) must equal total credits (9.99)"
    ]

    invoice = xero.ok("PUT", "Invoices", invoice_body(contact_id))["Invoices"][0]
    too_much = {
        "Payments": [
            {
                "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                "Account": {"Code": "092"},
                "Date": "2026-12-02",
                "Amount": 12.35,
            }
        ]
    }
    assert refusal(xero.call("PUT", "Payments", too_much)) == [
        "Payment amount exceeds the amount outstanding on this document"
    ]

    xero.ok(
        "POST",
        f"Contacts/{contact_id}",
        {"Contacts": [{"ContactID": contact_id, "ContactStatus": "ARCHIVED"}]},
    )
    (message,) = refusal(xero.call("PUT", "Invoices", invoice_body(contact_id, reference="TR-9")))
    assert "is archived" in message

    # A refused batch writes nothing.
    assert xero.ok("GET", 'Invoices?where=Reference=="TR-9"')["Invoices"] == []
