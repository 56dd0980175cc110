"""The Accounting API v3 over real HTTP: create, read, query, update (full and sparse),
SyncToken and the stale object fault, void and delete, requestid replays, the seeded chart."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

from integrations.models import QuickBooksSandboxObject
from tests.simulators.quickbooks import QboApp

pytestmark = pytest.mark.django_db(transaction=True)


def customer(qbo: QboApp, name: str = "Alice Ltd", **fields: Any) -> dict[str, Any]:
    return qbo.create("Customer", {"DisplayName": name, **fields})


def vendor(qbo: QboApp, name: str = "Supplier GmbH", **fields: Any) -> dict[str, Any]:
    return qbo.create("Vendor", {"DisplayName": name, **fields})


def journal_body(amount: str = "12.50") -> dict[str, Any]:
    return {
        "TxnDate": "2026-12-01",
        "DocNumber": "TR-1-fee",
        "PrivateNote": "fintech:transfer:1",
        "Line": [
            {
                "Amount": amount,
                "DetailType": "JournalEntryLineDetail",
                "Description": "fee",
                "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": "35"}},
            },
            {
                "Amount": amount,
                "DetailType": "JournalEntryLineDetail",
                "Description": "fee",
                "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": "79"}},
            },
        ],
    }


def bill_body(vendor_id: str, amount: str = "100.00", **fields: Any) -> dict[str, Any]:
    return {
        "VendorRef": {"value": vendor_id},
        "TxnDate": "2026-12-01",
        "DocNumber": "INV-77",
        "Line": [
            {
                "Amount": amount,
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "8"}},
            }
        ],
        **fields,
    }


def test_a_customer_is_created_read_and_found_by_query(qbo) -> None:
    alice = customer(qbo, PrimaryEmailAddr={"Address": "alice@example.com"}, Notes="fintech:p:1")
    assert alice["Id"].isdigit()
    assert int(alice["Id"]) > 200
    assert alice["SyncToken"] == "0"
    assert alice["Active"] is True
    assert alice["CurrencyRef"]["value"] == "GBP"
    assert set(alice["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    read = qbo.ok("GET", f"customer/{alice['Id']}")
    assert read["Customer"] == alice
    assert "time" in read

    found = qbo.query("select * from Customer where DisplayName = 'Alice Ltd'")
    assert found["Customer"] == [alice]
    assert (found["startPosition"], found["maxResults"]) == (1, 1)
    assert qbo.query("SELECT * FROM Customer WHERE Notes LIKE '%p:1'")["Customer"] == [alice]
    assert qbo.query("select * from Customer where DisplayName = 'Bob'") == {}
    assert qbo.query("select count(*) from Customer") == {"totalCount": 1}
    as_body = qbo.session.post(
        f"{qbo.api}/query",
        data="select * from Customer",
        headers={"Accept": "application/json", "Content-Type": "application/text"},
    )
    as_param = qbo.session.post(
        f"{qbo.api}/query",
        params={"query": "select * from Customer"},
        headers={"Accept": "application/json"},
    )
    for answer in (as_body, as_param):
        assert answer.json()["QueryResponse"]["Customer"] == [alice]


def test_query_pages_filters_active_and_escapes_quotes(qbo) -> None:
    for n in range(5):
        customer(qbo, f"O'Brien {n}")
    page = qbo.query(
        "select * from Customer where DisplayName like 'O\\'Brien%' "
        "orderby DisplayName startposition 2 maxresults 2"
    )
    assert [c["DisplayName"] for c in page["Customer"]] == ["O'Brien 1", "O'Brien 2"]
    assert (page["startPosition"], page["maxResults"]) == (2, 2)
    inactive = qbo.query("select * from Account where Active = false")
    assert {a["Id"] for a in inactive["Account"]} == {"97", "101"}
    active = qbo.query("select * from Account where AccountType = 'Bank'")
    assert {a["Id"] for a in active["Account"]} == {"35", "36", "98", "99", "100"}
    both = qbo.query("select * from Account where Id in ('97', '35') and Active in (true, false)")
    assert {a["Id"] for a in both["Account"]} == {"35", "97"}
    bad = qbo.session.get(
        f"{qbo.api}/query",
        params={"query": "select * from Customer where A = 1 or B = 2"},
        headers={"Accept": "application/json"},
    )
    assert bad.status_code == 400
    assert bad.json()["Fault"]["Error"][0]["code"] == "4000"


def test_updates_need_the_current_sync_token(qbo) -> None:
    alice = customer(qbo)
    renamed = qbo.create(
        "Customer",
        {"Id": alice["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Alice Trading"},
    )
    assert (renamed["SyncToken"], renamed["DisplayName"]) == ("1", "Alice Trading")
    assert renamed["CurrencyRef"] == alice["CurrencyRef"]  # sparse: the rest kept
    stale = qbo.call(
        "POST", "customer", {"Id": alice["Id"], "SyncToken": "0", "sparse": True, "Notes": "x"}
    )
    assert stale.status_code == 400
    fault = stale.json()["Fault"]
    assert fault["type"] == "ValidationFault"
    assert fault["Error"][0]["code"] == "5010"
    assert fault["Error"][0]["Message"] == "Stale Object Error"
    assert qbo.ok("GET", f"customer/{alice['Id']}")["Customer"]["SyncToken"] == "1"


def test_an_edit_armed_after_the_next_read_makes_the_read_stale(qbo) -> None:
    """control ...?after=read: the next read answers the object as it was, then a QuickBooks
    user's edit lands (SyncToken + 1), so an update under the token just read is 5010."""
    alice = customer(qbo)
    armed = qbo.control(f"/objects/Customer/{alice['Id']}?after=read", {"Notes": "theirs"})
    assert armed.status_code == 200, armed.text
    assert armed.json()["SyncToken"] == "0"  # nothing changed yet
    (read,) = qbo.query(f"select * from Customer where Id = '{alice['Id']}'")["Customer"]
    assert (read["SyncToken"], read.get("Notes")) == ("0", None)  # answered as it was
    stale = qbo.call(
        "POST", "customer", {"Id": alice["Id"], "SyncToken": "0", "sparse": True, "Notes": "ours"}
    )
    assert stale.status_code == 400
    error = stale.json()["Fault"]["Error"][0]
    assert (error["code"], error["Message"]) == ("5010", "Stale Object Error")
    now = qbo.ok("GET", f"customer/{alice['Id']}")["Customer"]
    assert (now["SyncToken"], now["Notes"]) == ("1", "theirs")  # one-shot: read again, as is


def test_a_journal_entry_is_balanced_and_can_be_deleted(qbo) -> None:
    entry = qbo.create("JournalEntry", journal_body())
    assert entry["TotalAmt"] == Decimal("12.5")
    assert [(line["Id"], line["LineNum"]) for line in entry["Line"]] == [("1", 1), ("2", 2)]
    assert entry["CurrencyRef"]["value"] == "GBP"
    found = qbo.query("select * from JournalEntry where DocNumber = 'TR-1-fee'")
    assert [e["Id"] for e in found["JournalEntry"]] == [entry["Id"]]
    deleted = qbo.ok("POST", "journalentry?operation=delete", {"Id": entry["Id"], "SyncToken": "0"})
    assert deleted["JournalEntry"] == {"status": "Deleted", "domain": "QBO", "Id": entry["Id"]}
    assert qbo.query("select * from JournalEntry") == {}
    gone = qbo.call("GET", f"journalentry/{entry['Id']}")
    assert gone.status_code == 400
    assert gone.json()["Fault"]["Error"][0]["code"] == "610"


def test_a_bill_paid_by_a_bill_payment_and_the_payment_voided(qbo) -> None:
    supplier = vendor(qbo)
    bill = qbo.create("Bill", bill_body(supplier["Id"]))
    assert (bill["TotalAmt"], bill["Balance"]) == (Decimal("100"), Decimal("100"))
    payment = qbo.create(
        "BillPayment",
        {
            "VendorRef": {"value": supplier["Id"]},
            "PayType": "Check",
            "CheckPayment": {"BankAccountRef": {"value": "36"}},
            "TotalAmt": "60.00",
            "Line": [{"Amount": "60.00", "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
        },
    )
    assert qbo.ok("GET", f"bill/{bill['Id']}")["Bill"]["Balance"] == Decimal("40")
    too_much = qbo.call(
        "POST",
        "billpayment",
        {
            "VendorRef": {"value": supplier["Id"]},
            "PayType": "Check",
            "CheckPayment": {"BankAccountRef": {"value": "36"}},
            "TotalAmt": "50.00",
            "Line": [{"Amount": "50.00", "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
        },
    )
    assert too_much.status_code == 400
    assert "balance" in too_much.json()["Fault"]["Error"][0]["Detail"]
    voided = qbo.ok("POST", "billpayment?operation=void", {"Id": payment["Id"], "SyncToken": "0"})[
        "BillPayment"
    ]
    assert voided["TotalAmt"] == 0
    assert voided["PrivateNote"].startswith("Voided")
    assert voided["SyncToken"] == "1"
    assert qbo.ok("GET", f"bill/{bill['Id']}")["Bill"]["Balance"] == Decimal("100")


def test_the_same_requestid_answers_the_first_response_once(qbo) -> None:
    first = qbo.call("POST", "customer", {"DisplayName": "Once Ltd"}, requestid="req-1")
    again = qbo.call("POST", "customer", {"DisplayName": "Twice Ltd"}, requestid="req-1")
    assert first.status_code == again.status_code == 200
    assert again.json()["Customer"] == first.json()["Customer"]
    assert QuickBooksSandboxObject.objects.filter(entity="Customer").count() == 1
    # A Fault is replayed too; the same requestid in another company is another request.
    bad = qbo.call("POST", "customer", {"DisplayName": "A:B"}, requestid="req-2")
    assert bad.status_code == 400
    assert (
        qbo.call("POST", "customer", {"DisplayName": "AB"}, requestid="req-2").json() == bad.json()
    )


def test_concurrent_duplicates_of_one_requestid_create_one_object(qbo) -> None:
    answers: list[Any] = []
    start = threading.Barrier(5)

    def send() -> None:
        start.wait()
        answers.append(qbo.call("POST", "journalentry", journal_body(), requestid="burst-1"))

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 5
    assert len({a.json()["JournalEntry"]["Id"] for a in answers}) == 1
    assert QuickBooksSandboxObject.objects.filter(entity="JournalEntry").count() == 1
