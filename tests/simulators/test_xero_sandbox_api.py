"""The sandbox's Accounting API over HTTP, as our connector will call it: each object type
created and looked up by its reference, in Xero's envelope, amounts exact as Decimal."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def contact_of(xero, number: str = "P-1", name: str = "Alice Trading Ltd") -> dict:
    body = {"Contacts": [{"Name": name, "ContactNumber": number, "EmailAddress": "a@x.test"}]}
    return xero.ok("POST", "Contacts", body)["Contacts"][0]


def invoice_body(contact_id: str, *, reference: str = "TR-1", **overrides) -> dict:
    invoice = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Date": "2026-12-01",
        "DueDate": "2026-12-15",
        "LineAmountTypes": "NoTax",
        "CurrencyCode": "EUR",
        "Reference": reference,
        "Status": "AUTHORISED",
        "LineItems": [
            {
                "Description": "Transfer fee",
                "Quantity": 1,
                "UnitAmount": 12.34,
                "AccountCode": "200",
                "LineAmount": 12.34,
            }
        ],
        **overrides,
    }
    return {"Invoices": [invoice]}


def test_organisation_currencies_and_the_seeded_chart(xero) -> None:
    org = xero.ok("GET", "Organisation")
    assert org["Status"] == "OK"
    assert {"Id", "ProviderName", "DateTimeUTC"} <= set(org)
    assert org["Organisations"][0]["Name"] == "Demo Org (sandbox)"
    assert [c["Code"] for c in xero.ok("GET", "Currencies")["Currencies"]] == ["GBP", "EUR", "USD"]
    accounts = {a["Code"]: a for a in xero.ok("GET", "Accounts")["Accounts"]}
    assert accounts["090"]["Type"] == "BANK"
    assert accounts["090"]["CurrencyCode"] == "GBP"
    assert accounts["810"]["Type"] == "CURRLIAB"
    assert accounts["299"]["Status"] == "ARCHIVED"
    found = xero.ok("GET", 'Accounts?where=Code=="270"')["Accounts"]
    assert [a["Name"] for a in found] == ["FX margin revenue"]


def test_contacts_are_created_found_by_number_updated_and_archived(xero) -> None:
    alice = contact_of(xero)
    assert alice["ContactStatus"] == "ACTIVE"
    uuid.UUID(alice["ContactID"])
    assert alice["UpdatedDateUTC"].startswith("/Date(")
    found = xero.ok("GET", 'Contacts?where=ContactNumber=="P-1"')["Contacts"]
    assert [c["ContactID"] for c in found] == [alice["ContactID"]]
    # POST with the same ContactNumber updates that contact (no second one).
    renamed = xero.ok(
        "POST", "Contacts", {"Contacts": [{"ContactNumber": "P-1", "Name": "Alice Ltd"}]}
    )
    assert renamed["Contacts"][0]["ContactID"] == alice["ContactID"]
    assert xero.ok("GET", f"Contacts/{alice['ContactID']}")["Contacts"][0]["Name"] == "Alice Ltd"
    xero.ok(
        "POST",
        f"Contacts/{alice['ContactID']}",
        {"Contacts": [{"ContactID": alice["ContactID"], "ContactStatus": "ARCHIVED"}]},
    )
    # Archived contacts leave the list unless asked for, as at Xero.
    assert xero.ok("GET", 'Contacts?where=ContactNumber=="P-1"')["Contacts"] == []
    archived = xero.ok("GET", 'Contacts?where=ContactNumber=="P-1"&includeArchived=true')
    assert archived["Contacts"][0]["ContactStatus"] == "ARCHIVED"


def test_an_invoice_is_created_found_by_reference_paid_and_an_other_voided(xero) -> None:
    alice = contact_of(xero)
    created = xero.ok("PUT", "Invoices", invoice_body(alice["ContactID"]))["Invoices"][0]
    assert created["InvoiceNumber"] == "INV-0001"
    assert created["Total"] == Decimal("12.34")
    assert created["AmountDue"] == Decimal("12.34")
    assert created["Status"] == "AUTHORISED"
    assert created["Date"] == "/Date(1796083200000+0000)/"
    by_reference = xero.ok("GET", 'Invoices?where=Reference=="TR-1"')["Invoices"]
    assert [i["InvoiceID"] for i in by_reference] == [created["InvoiceID"]]
    by_number = xero.ok("GET", 'Invoices?where=InvoiceNumber=="INV-0001"')["Invoices"]
    assert [i["InvoiceID"] for i in by_number] == [created["InvoiceID"]]

    payment = {
        "Payments": [
            {
                "Invoice": {"InvoiceID": created["InvoiceID"]},
                "Account": {"Code": "092"},
                "Date": "2026-12-02",
                "Amount": 12.34,
                "Reference": "PAY-TR-1",
            }
        ]
    }
    paid = xero.ok("PUT", "Payments", payment)["Payments"][0]
    assert paid["Amount"] == Decimal("12.34")
    assert (
        xero.ok("GET", 'Payments?where=Reference=="PAY-TR-1"')["Payments"][0]["PaymentID"]
        == (paid["PaymentID"])
    )
    invoice = xero.ok("GET", f"Invoices/{created['InvoiceID']}")["Invoices"][0]
    assert (invoice["Status"], invoice["AmountDue"], invoice["AmountPaid"]) == (
        "PAID",
        Decimal("0"),
        Decimal("12.34"),
    )

    other = xero.ok("PUT", "Invoices", invoice_body(alice["ContactID"], reference="TR-2"))
    other_id = other["Invoices"][0]["InvoiceID"]
    voided = xero.ok(
        "POST", f"Invoices/{other_id}", {"Invoices": [{"InvoiceID": other_id, "Status": "VOIDED"}]}
    )
    assert voided["Invoices"][0]["Status"] == "VOIDED"


def test_a_bill_a_credit_note_and_its_allocation(xero) -> None:
    supplier = contact_of(xero, number="S-1", name="Lieferant GmbH")
    bill = xero.ok(
        "PUT",
        "Invoices",
        invoice_body(supplier["ContactID"], Type="ACCPAY", InvoiceNumber="BILL-7", reference="B-7"),
    )["Invoices"][0]
    assert bill["Type"] == "ACCPAY"
    # As at Xero, a bill keeps no Reference: it is found by its number.
    assert "Reference" not in bill
    assert xero.ok("GET", 'Invoices?where=Reference=="B-7"')["Invoices"] == []
    by_number = xero.ok("GET", 'Invoices?where=InvoiceNumber=="BILL-7"')["Invoices"]
    assert [b["InvoiceID"] for b in by_number] == [bill["InvoiceID"]]
    credit = {
        "CreditNotes": [
            {
                "Type": "ACCPAYCREDIT",
                "Contact": {"ContactID": supplier["ContactID"]},
                "Date": "2026-12-01",
                "LineAmountTypes": "NoTax",
                "CurrencyCode": "EUR",
                "Status": "AUTHORISED",
                "CreditNoteNumber": "SCN-1",
                "Reference": "REF-CN-1",
                "LineItems": [
                    {
                        "Description": "Refund",
                        "Quantity": 1,
                        "UnitAmount": 2.34,
                        "AccountCode": "404",
                    }
                ],
            }
        ]
    }
    note = xero.ok("PUT", "CreditNotes", credit)["CreditNotes"][0]
    assert note["RemainingCredit"] == Decimal("2.34")
    assert (
        xero.ok("GET", 'CreditNotes?where=CreditNoteNumber=="SCN-1"')["CreditNotes"][0][
            "CreditNoteID"
        ]
        == note["CreditNoteID"]
    )
    allocation = {
        "Allocations": [
            {"Invoice": {"InvoiceID": bill["InvoiceID"]}, "Amount": 2.34, "Date": "2026-12-02"}
        ]
    }
    done = xero.ok("PUT", f"CreditNotes/{note['CreditNoteID']}/Allocations", allocation)
    assert done["Allocations"][0]["Amount"] == Decimal("2.34")
    bill = xero.ok("GET", f"Invoices/{bill['InvoiceID']}")["Invoices"][0]
    assert (bill["AmountDue"], bill["AmountCredited"]) == (Decimal("10"), Decimal("2.34"))
    note = xero.ok("GET", f"CreditNotes/{note['CreditNoteID']}")["CreditNotes"][0]
    assert (note["Status"], note["RemainingCredit"]) == ("PAID", Decimal("0"))


def test_bank_transactions_and_manual_journals(xero) -> None:
    alice = contact_of(xero)
    receive = {
        "BankTransactions": [
            {
                "Type": "RECEIVE",
                "Contact": {"ContactID": alice["ContactID"]},
                "BankAccount": {"Code": "091"},
                "Date": "2026-12-01",
                "Reference": "FUND-1",
                "LineAmountTypes": "NoTax",
                "LineItems": [
                    {
                        "Description": "Wallet funding",
                        "Quantity": 1,
                        "UnitAmount": 1000.5,
                        "AccountCode": "810",
                    }
                ],
            }
        ]
    }
    created = xero.ok("PUT", "BankTransactions", receive)["BankTransactions"][0]
    assert (created["Total"], created["CurrencyCode"], created["Status"]) == (
        Decimal("1000.5"),
        "GBP",
        "AUTHORISED",
    )
    found = xero.ok("GET", 'BankTransactions?where=Reference=="FUND-1"')["BankTransactions"]
    assert [t["BankTransactionID"] for t in found] == [created["BankTransactionID"]]
    transaction_id = created["BankTransactionID"]
    deleted = xero.ok(
        "POST",
        f"BankTransactions/{transaction_id}",
        {"BankTransactions": [{"BankTransactionID": transaction_id, "Status": "DELETED"}]},
    )
    assert deleted["BankTransactions"][0]["Status"] == "DELETED"

    journal = {
        "ManualJournals": [
            {
                "Narration": "FX margin TR-9",
                "Date": "2026-12-01",
                "Status": "POSTED",
                "JournalLines": [
                    {"LineAmount": 3.21, "AccountCode": "820", "Description": "clearing"},
                    {"LineAmount": -3.21, "AccountCode": "270", "Description": "margin"},
                ],
            }
        ]
    }
    posted = xero.ok("PUT", "ManualJournals", journal)["ManualJournals"][0]
    assert posted["Status"] == "POSTED"
    found = xero.ok("GET", 'ManualJournals?where=Narration=="FX margin TR-9"')["ManualJournals"]
    assert [j["ManualJournalID"] for j in found] == [posted["ManualJournalID"]]


def test_an_idempotency_key_replays_the_first_answer(xero) -> None:
    alice = contact_of(xero)
    body = invoice_body(alice["ContactID"], reference="TR-IDEM")
    first = xero.call("PUT", "Invoices", body, **{"Idempotency-Key": "idem-1"})
    again = xero.call("PUT", "Invoices", body, **{"Idempotency-Key": "idem-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert len(xero.ok("GET", 'Invoices?where=Reference=="TR-IDEM"')["Invoices"]) == 1
    other = invoice_body(alice["ContactID"], reference="TR-OTHER")
    reused = xero.call("PUT", "Invoices", other, **{"Idempotency-Key": "idem-1"})
    assert reused.status_code == 400
    assert "different request" in reused.json()["Detail"]


def test_where_is_parsed_strictly(xero) -> None:
    for where in ('Reference=="x" OR 1==1', "Reference==x", 'Total=="1"', '__import__("os")'):
        refused = xero.call("GET", f"Invoices?where={where}")
        assert refused.status_code == 400, where
        assert refused.json()["Type"] == "QueryParseException"
    both = xero.call("GET", 'Invoices?where=Reference=="a" AND Type=="ACCREC"')
    assert both.status_code == 200


# Keys real Xero answers with that the SDK's models do not carry (the SDK drops them).
RESPONSE_ONLY = {"DateString", "DueDateString"}


def test_answers_read_back_through_the_sdks_models(xero) -> None:
    """Our answers are what Xero's own models read: the SDK deserializes every element, and
    the round trip loses no key but Xero's known response-only ones."""
    from integrations.simulators.xero.validation import validate_request

    alice = contact_of(xero)
    invoice = xero.ok("PUT", "Invoices", invoice_body(alice["ContactID"]))["Invoices"][0]
    xero.ok(
        "PUT",
        "Payments",
        {
            "Payments": [
                {
                    "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                    "Account": {"Code": "092"},
                    "Amount": 2,
                    "Reference": "PAY-1",
                }
            ]
        },
    )
    test_bank_transactions_and_manual_journals(xero)  # creates one of each
    for resource in (
        "Contacts",
        "Invoices",
        "Payments",
        "BankTransactions",
        "ManualJournals",
        "Accounts",
    ):
        answer = xero.ok("GET", resource)
        elements = {resource: answer[resource]}
        problems = validate_request(resource, elements, updating=True)
        unexpected = [
            p for p in problems if p.split(": ")[0].rsplit(".", 1)[-1] not in RESPONSE_ONLY
        ]
        assert unexpected == [], resource
        if resource == "Invoices":  # the check does see what the SDK drops
            assert "Invoices[0].DateString: unknown field" in problems


def test_json_must_be_asked_for_and_if_modified_since_filters(xero) -> None:
    contact_of(xero)
    xml_please = xero.call("GET", "Contacts", Accept="*/*")
    assert xml_please.status_code == 406  # Xero would answer XML
    later = xero.call("GET", "Contacts", **{"If-Modified-Since": "2999-01-01T00:00:00"})
    assert later.json()["Contacts"] == []
    earlier = xero.call("GET", "Contacts", **{"If-Modified-Since": "2000-01-01T00:00:00"})
    assert len(earlier.json()["Contacts"]) == 1


def test_status_rules_of_invoices(xero) -> None:
    alice = contact_of(xero)
    draft = xero.ok("PUT", "Invoices", invoice_body(alice["ContactID"], Status="DRAFT"))
    draft_id = draft["Invoices"][0]["InvoiceID"]

    def set_status(status: str):
        body = {"Invoices": [{"InvoiceID": draft_id, "Status": status}]}
        return xero.call("POST", f"Invoices/{draft_id}", body)

    assert set_status("PAID").status_code == 400
    assert set_status("VOIDED").status_code == 400  # a draft is deleted, not voided
    assert set_status("AUTHORISED").json()["Invoices"][0]["Status"] == "AUTHORISED"
    assert set_status("DELETED").status_code == 400  # an authorised one is voided
    assert set_status("VOIDED").json()["Invoices"][0]["Status"] == "VOIDED"
    again = set_status("AUTHORISED")
    assert again.status_code == 400
    assert "not of valid status" in again.json()["Elements"][0]["ValidationErrors"][0]["Message"]
    no_account = invoice_body(alice["ContactID"])
    del no_account["Invoices"][0]["LineItems"][0]["AccountCode"]
    refused = xero.call("PUT", "Invoices", no_account)
    assert refused.status_code == 400
