"""Bad input answers Intuit's ValidationFault, naming the element: bodies are read through
python-quickbooks' classes (unknown properties), then QuickBooks' rules (required fields,
enums, references to active objects, currencies, balance, lengths, names). And every body
the sandbox accepts in these tests is valid against Intuit's own XSDs (tests' oracle)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.connectors.quickbooks import oracle
from tests.simulators.quickbooks import QboApp, connect
from tests.simulators.test_quickbooks_sandbox_api import bill_body, customer, journal_body, vendor

pytestmark = pytest.mark.django_db(transaction=True)


def fault(qbo: QboApp, entity: str, body: dict[str, Any]) -> dict[str, Any]:
    response = qbo.call("POST", entity.lower(), body)
    assert response.status_code == 400, response.text
    data = response.json()
    assert set(data) == {"Fault", "time"}
    assert data["Fault"]["type"] == "ValidationFault"
    (error,) = data["Fault"]["Error"]
    assert set(error) <= {"Message", "Detail", "code", "element"}
    return dict(error)


def line(account: str, posting: str, amount: str = "10.00") -> dict[str, Any]:
    return {
        "Amount": amount,
        "DetailType": "JournalEntryLineDetail",
        "JournalEntryLineDetail": {"PostingType": posting, "AccountRef": {"value": account}},
    }


def test_unknown_and_missing_fields_and_bad_enums(qbo) -> None:
    misspelt = fault(qbo, "Customer", {"DisplayName": "Alice", "PrimaryEmailAdr": {}})
    assert (misspelt["code"], misspelt["element"]) == ("2010", "Customer.PrimaryEmailAdr")
    deep = journal_body()
    deep["Line"][0]["JournalEntryLineDetail"]["AcountRef"] = {"value": "35"}
    assert fault(qbo, "JournalEntry", deep)["element"] == (
        "JournalEntry.Line[0].JournalEntryLineDetail.AcountRef"
    )
    assert fault(qbo, "Customer", {"Notes": "no name"})["code"] == "2020"
    no_posting = journal_body()
    no_posting["Line"][0]["JournalEntryLineDetail"]["PostingType"] = "Debet"
    bad_enum = fault(qbo, "JournalEntry", no_posting)
    assert bad_enum["code"] == "2170"
    assert bad_enum["element"] == "JournalEntry.Line[0].JournalEntryLineDetail.PostingType"
    cash = {"PaymentType": "Cheque", "AccountRef": {"value": "36"}, "Line": []}
    assert fault(qbo, "Purchase", cash)["element"] == "Purchase.PaymentType"


def test_references_must_exist_and_be_active(qbo) -> None:
    inactive = journal_body()
    inactive["Line"][1]["JournalEntryLineDetail"]["AccountRef"] = {"value": "97"}
    error = fault(qbo, "JournalEntry", inactive)
    assert error["code"] == "610"
    assert error["element"] == "JournalEntry.Line[1].JournalEntryLineDetail.AccountRef"
    assert fault(qbo, "Bill", bill_body("99999"))["element"] == "Bill.VendorRef"
    supplier = vendor(qbo)
    qbo.control(f"/objects/Vendor/{supplier['Id']}", method="DELETE")  # made inactive
    assert fault(qbo, "Bill", bill_body(supplier["Id"]))["code"] == "610"
    wrong_type = {
        "PaymentType": "Cash",
        "AccountRef": {"value": "8"},  # an expense account is not a bank
        "Line": [],
    }
    assert "expected Bank" in fault(qbo, "Purchase", wrong_type)["Detail"]


def test_currencies_must_be_enabled_and_foreign_ones_need_a_rate(qbo, qbo_sandbox) -> None:
    yen = {**journal_body(), "CurrencyRef": {"value": "JPY"}, "ExchangeRate": 0.005}
    assert "JPY is not among" in fault(qbo, "JournalEntry", yen)["Detail"]
    euros = {**journal_body(), "CurrencyRef": {"value": "EUR"}}
    assert fault(qbo, "JournalEntry", euros)["element"] == "JournalEntry.ExchangeRate"
    euros["Line"] = [line("98", "Debit"), line("93", "Credit")]
    euros["ExchangeRate"] = 0.86
    assert qbo.create("JournalEntry", euros)["CurrencyRef"]["value"] == "EUR"
    usd_bank = {**euros, "Line": [line("99", "Debit"), line("93", "Credit")]}
    assert "in USD" in fault(qbo, "JournalEntry", usd_bank)["Detail"]

    single = connect_single_currency(qbo_sandbox)
    error = fault(single, "JournalEntry", euros)
    assert "multicurrency is off" in error["Detail"]
    assert (
        single.ok("GET", "preferences")["Preferences"]["CurrencyPrefs"]["MultiCurrencyEnabled"]
        is False
    )
    assert fault(single, "CompanyCurrency", {"Code": "EUR"})["code"] == "6000"


def connect_single_currency(base: str) -> QboApp:
    import requests
    from django.conf import settings

    made = requests.post(
        f"{base}/control/companies",
        json={"name": "Bob's books", "multi_currency": False},
        headers={"Authorization": f"Bearer {settings.QUICKBOOKS_SANDBOX_CLIENT_SECRET}"},
        timeout=10,
    )
    return connect(base, realm_id=made.json()["realmId"])


def test_quickbooks_business_rules(qbo) -> None:
    unbalanced = {
        **journal_body(),
        "Line": [line("35", "Debit", "10.00"), line("79", "Credit", "9.99")],
    }
    error = fault(qbo, "JournalEntry", unbalanced)
    assert (error["code"], error["element"]) == ("6000", "JournalEntry.Line")
    assert "not balanced" in error["Detail"]
    receivable = {**journal_body(), "Line": [line("84", "Debit"), line("79", "Credit")]}
    assert "needs a Customer" in fault(qbo, "JournalEntry", receivable)["Detail"]
    long_number = {**journal_body(), "DocNumber": "X" * 22}
    error = fault(qbo, "JournalEntry", long_number)
    assert (error["code"], error["element"]) == ("2050", "JournalEntry.DocNumber")
    assert qbo.create("JournalEntry", {**journal_body(), "DocNumber": "X" * 21})
    negative = {**journal_body(), "Line": [line("35", "Debit", "-1"), line("79", "Credit", "-1")]}
    assert "negative" in fault(qbo, "JournalEntry", negative)["Detail"]
    fractions = {
        **journal_body(),
        "Line": [line("35", "Debit", "1.001"), line("79", "Credit", "1.001")],
    }
    assert "decimal places" in fault(qbo, "JournalEntry", fractions)["Detail"]
    alice = customer(qbo)
    sale = {
        "CustomerRef": {"value": alice["Id"]},
        "Line": [
            {
                "Amount": "5.00",
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 2, "UnitPrice": 2},
            }
        ],
    }
    assert fault(qbo, "SalesReceipt", sale)["code"] == "6070"


def test_display_names_are_unique_and_have_no_colon(qbo) -> None:
    customer(qbo, "Alice Ltd")
    duplicate = fault(qbo, "Vendor", {"DisplayName": "alice ltd"})  # customers and vendors
    assert (duplicate["code"], duplicate["element"]) == ("6240", "DisplayName")
    colon = fault(qbo, "Customer", {"DisplayName": "Alice:Ltd"})
    assert colon["element"] == "Customer.DisplayName"
    assert fault(qbo, "Customer", {"DisplayName": "A" * 501})["code"] == "2050"


# --- Intuit's XSDs agree with what the sandbox accepts ------------------------------------


def xsd_ordered(xsd_type: Any, value: Any, *, top: bool = False) -> Any:
    """The JSON as Intuit's XML: elements in the XSD's sequence order (JSON has none),
    `domain`/`sparse`/`status` as the attributes they are."""
    if isinstance(value, list):
        return [xsd_ordered(xsd_type, v) for v in value]
    if not isinstance(value, dict) or "value" in value or not xsd_type.is_complex():
        return value
    children = {e.local_name: e for e in xsd_type.content.iter_elements()}
    out = {k: xsd_ordered(children[k].type, value[k]) for k in children if k in value}
    for key, item in value.items():
        if key not in children:
            out[f"@{key}" if top and key in ("domain", "sparse", "status") else key] = item
    return out


def xsd_problems(entity: str, body: dict[str, Any]) -> list[str]:
    element: Any = oracle.schema().elements[entity]
    return oracle.xsd_problems(entity, xsd_ordered(element.type, body, top=True))


def test_every_body_the_sandbox_accepts_here_is_valid_against_intuits_xsds(qbo) -> None:
    alice = customer(qbo)
    supplier = vendor(qbo)
    bill = qbo.create("Bill", bill_body(supplier["Id"]))
    sale_line = {
        "Amount": "2.00",
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 1, "UnitPrice": 2},
    }
    memo = qbo.create("CreditMemo", {"CustomerRef": {"value": alice["Id"]}, "Line": [sale_line]})
    accepted: list[tuple[str, dict[str, Any]]] = [
        (
            "Customer",
            {
                "DisplayName": "Bob Ltd",
                "PrimaryEmailAddr": {"Address": "b@example.com"},
                "Notes": "fintech:profile:2",
                "CurrencyRef": {"value": "EUR"},
            },
        ),
        ("Vendor", {"DisplayName": "Carol GmbH", "CompanyName": "Carol GmbH"}),
        (
            "Customer",
            {"Id": alice["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Alice Trading"},
        ),
        ("JournalEntry", journal_body()),
        (
            "JournalEntry",
            {
                **journal_body(),
                "DocNumber": "TR-2",
                "CurrencyRef": {"value": "EUR"},
                "ExchangeRate": 0.86,
                "Line": [line("98", "Debit"), line("93", "Credit")],
            },
        ),
        (
            "JournalEntry",
            {
                "Line": [
                    {
                        **line("84", "Debit"),
                        "JournalEntryLineDetail": {
                            "PostingType": "Debit",
                            "AccountRef": {"value": "84"},
                            "Entity": {"Type": "Customer", "EntityRef": {"value": alice["Id"]}},
                        },
                    },
                    line("79", "Credit"),
                ]
            },
        ),
        ("Bill", bill_body(supplier["Id"], DocNumber="INV-78")),
        (
            "Deposit",
            {
                "DepositToAccountRef": {"value": "36"},
                "TxnDate": "2026-12-01",
                "PrivateNote": "fintech:funding:1",
                "Line": [
                    {
                        "Amount": "500.00",
                        "DetailType": "DepositLineDetail",
                        "DepositLineDetail": {"AccountRef": {"value": "96"}},
                    }
                ],
            },
        ),
        (
            "Purchase",
            {
                "PaymentType": "Cash",
                "AccountRef": {"value": "36"},
                "EntityRef": {"value": supplier["Id"], "type": "Vendor"},
                "Line": [
                    {
                        "Amount": "3.00",
                        "DetailType": "AccountBasedExpenseLineDetail",
                        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "8"}},
                    }
                ],
            },
        ),
        (
            "BillPayment",
            {
                "VendorRef": {"value": supplier["Id"]},
                "PayType": "Check",
                "CheckPayment": {"BankAccountRef": {"value": "36"}},
                "TotalAmt": "60.00",
                "Line": [
                    {"Amount": "60.00", "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}
                ],
            },
        ),
        (
            "SalesReceipt",
            {
                "CustomerRef": {"value": alice["Id"]},
                "DepositToAccountRef": {"value": "35"},
                "Line": [sale_line],
            },
        ),
        (
            "RefundReceipt",
            {
                "CustomerRef": {"value": alice["Id"]},
                "DepositToAccountRef": {"value": "35"},
                "Line": [sale_line],
            },
        ),
        (
            "Payment",
            {
                "CustomerRef": {"value": alice["Id"]},
                "TotalAmt": "2.00",
                "Line": [
                    {
                        "Amount": "2.00",
                        "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}],
                    }
                ],
            },
        ),
        ("CompanyCurrency", {"Code": "CAD"}),
        (
            "Account",
            {
                "Name": "Wallet CAD",
                "AccountType": "Bank",
                "AccountSubType": "Checking",
                "CurrencyRef": {"value": "CAD"},
            },
        ),
    ]
    answers = {}
    for entity, body in accepted:
        answers[entity] = qbo.create(entity, body)  # accepted by the sandbox...
        assert xsd_problems(entity, body) == [], (entity, body)  # ...and by Intuit's XSDs
        if entity in oracle.ENTITIES and "Id" not in body:
            assert oracle.rule_problems(entity, body) == [], (entity, body)
    assert answers["SalesReceipt"]["TotalAmt"] == 2
    assert answers["Payment"]["UnappliedAmt"] == 0
    assert answers["CompanyCurrency"]["Name"] == "Canadian Dollar"
    assert answers["Account"]["Classification"] == "Asset"
    assert answers["Deposit"]["TotalAmt"] == 500


def test_a_payment_applies_to_a_journals_receivable_and_a_refund_receipt_names_an_item(
    qbo,
) -> None:
    """What the connector's fee Payment and RefundReceipt meet: a Payment applied to a
    JournalEntry must find an Accounts Receivable line naming its Customer there and stay
    within what is still open; a receivable line's Customer keeps one currency; a
    RefundReceipt needs a bank account to pay from and an Item on its sales line."""
    alice, bob = customer(qbo), customer(qbo, "Bob Ltd")

    def owed(name: dict[str, Any], amount: str = "5.00") -> dict[str, Any]:
        debit = line("84", "Debit", amount)
        debit["JournalEntryLineDetail"]["Entity"] = {
            "Type": "Customer",
            "EntityRef": {"value": name["Id"]},
        }
        return {**journal_body(), "Line": [debit, line("79", "Credit", amount)]}

    fee = qbo.create("JournalEntry", owed(alice))
    plain = qbo.create("JournalEntry", journal_body())

    def payment(name: dict[str, Any], journal: dict[str, Any], amount: str, number: str) -> dict:
        return {
            "TxnDate": "2026-12-01",
            "CustomerRef": {"value": name["Id"]},
            "DepositToAccountRef": {"value": "35"},
            "PaymentRefNum": number,
            "TotalAmt": amount,
            "Line": [
                {
                    "Amount": amount,
                    "LinkedTxn": [{"TxnId": journal["Id"], "TxnType": "JournalEntry"}],
                }
            ],
        }

    error = fault(qbo, "Payment", payment(alice, plain, "5.00", "P-1"))
    assert "no Accounts Receivable line" in error["Detail"]
    assert (
        "no Accounts Receivable line"
        in fault(qbo, "Payment", payment(bob, fee, "5.00", "P-1"))["Detail"]
    )
    assert "open receivable" in fault(qbo, "Payment", payment(alice, fee, "5.01", "P-1"))["Detail"]
    assert fault(qbo, "Payment", {**payment(alice, fee, "5.00", "X" * 22)})["element"] == (
        "Payment.PaymentRefNum"
    )
    assert (
        fault(qbo, "Payment", {**payment(alice, fee, "5.00", "P-1"), "DocNumber": "P-1"})["code"]
        == "2010"
    )  # Intuit takes no DocNumber on a Payment: PaymentRefNum is its reference
    paid = qbo.create("Payment", payment(alice, fee, "3.00", "P-1"))
    assert paid["UnappliedAmt"] == 0
    # What the first Payment applied is no longer open.
    assert "open receivable" in fault(qbo, "Payment", payment(alice, fee, "2.01", "P-2"))["Detail"]
    qbo.create("Payment", payment(alice, fee, "2.00", "P-2"))
    # A receivable line in another currency than its Customer's is refused.
    foreign = {**owed(alice), "CurrencyRef": {"value": "EUR"}, "ExchangeRate": "0.85"}
    assert "currency" in fault(qbo, "JournalEntry", foreign)["Detail"]

    refund = {
        "TxnDate": "2026-12-03",
        "DocNumber": "TR-1-FEE-RF",
        "CustomerRef": {"value": alice["Id"]},
        "DepositToAccountRef": {"value": "35"},
        "Line": [
            {
                "Amount": "5.00",
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "2"}},
            }
        ],
    }
    no_bank = {k: v for k, v in refund.items() if k != "DepositToAccountRef"}
    assert fault(qbo, "RefundReceipt", no_bank)["element"] == "RefundReceipt.DepositToAccountRef"
    no_item = {**refund, "Line": [{**refund["Line"][0], "SalesItemLineDetail": {}}]}
    assert fault(qbo, "RefundReceipt", no_item)["code"] == "2020"
    made = qbo.create("RefundReceipt", refund)
    assert made["TotalAmt"] == 5.0
