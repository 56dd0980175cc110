"""The QuickBooks mapping: every body it builds is one Intuit's own XSDs (and documented rules)
accept, carries only allowlisted fields, and says exactly what the ledger's facts say."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from integrations.connectors.accounting import facts
from integrations.connectors.accounting.facts import (
    ContactFacts,
    DayMovement,
    FundingFacts,
    MovementLine,
    RefundFacts,
    TransferFacts,
)
from integrations.connectors.accounting.quickbooks import mapping, roles
from integrations.connectors.accounting.quickbooks.mapping import (
    ALLOWED_FIELDS,
    ENTITY,
    ROLES_CUSTOMER,
    ROLES_PLATFORM,
    FieldNotAllowed,
    MappingError,
    NothingToMap,
)
from tests.builders import build_beneficiary, build_profile, build_wallet_funding
from tests.connectors.quickbooks import oracle
from tests.connectors.quickbooks.conftest import CUSTOMER_ROLES, PLATFORM_ROLES

HOME = "GBP"
RATES = {"EUR": Decimal("0.8541"), "USD": Decimal("0.791234")}  # GBP per unit
CUSTOMER_ID = "58"
VENDOR_ID = "61"
BILL_ID = "147"
JOURNAL_ID = "150"
ITEM_ID = "2"

ALICE = ContactFacts(reference="PRF-7", name="Alice Trading Ltd", email="alice@example.com")
SENT = TransferFacts(
    reference="TR0A1B2C3D4E",
    contact=ALICE,
    booked_on=dt.date(2026, 12, 1),
    source_currency="GBP",
    source_minor=100_000,
    fee_minor=500,
    target_currency="EUR",
    target_minor=113_853,
    margin_minor=572,
    rate=Decimal("1.144250000000"),
    beneficiary_name="Alice's supplier GmbH",
    bill_reference="",
    state="completed",
    entry_ids=(11, 12, 13),
)
FAILED = dataclasses.replace(
    SENT, state="failed", unwound_by="fail:unwind", unwound_on=dt.date(2026, 12, 2)
)
REFUND = RefundFacts(
    transfer=dataclasses.replace(
        SENT, state="refunded", unwound_by="refund:unwind", unwound_on=dt.date(2026, 12, 3)
    ),
    booked_on=dt.date(2026, 12, 3),
    fee_minor=500,
    margin_minor=572,
    source_minor=100_000,
)
FUNDING = FundingFacts(
    reference="wallet-funding:sandbox-bank:BANK-00000042",
    contact=ALICE,
    booked_on=dt.date(2026, 11, 30),
    currency="GBP",
    amount_minor=1_000_000,
    entry_id=5,
)
DAY = DayMovement(
    day=dt.date(2026, 12, 1),
    currency="GBP",
    lines=(
        MovementLine("client_money", 1_000_000, 0),
        MovementLine("customer_funds", 100_000, 1_000_000),
        MovementLine("fee_revenue", 0, 500),
        MovementLine("fx_position", 0, 99_500),
        MovementLine("payout_clearing", 100_000, 100_000),
    ),
    entry_count=3,
)


def fx(currency: str) -> dict[str, Any]:
    """The keyword arguments for a document in `currency` in a GBP company."""
    return {"home_currency": HOME, "exchange_rate": RATES.get(currency)}


def bodies(
    *,
    sent: TransferFacts,
    failed: TransferFacts,
    refund: RefundFacts,
    funding: FundingFacts,
    day: DayMovement,
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every builder's output for these facts, with its entity (both ways where it has two)."""
    p, c = PLATFORM_ROLES, CUSTOMER_ROLES
    src, tgt = fx(sent.source_currency), fx(sent.target_currency)
    r_src, r_tgt = fx(refund.transfer.source_currency), fx(refund.transfer.target_currency)
    f_src, f_tgt = fx(failed.source_currency), fx(failed.target_currency)
    built = {
        "customer": mapping.customer(sent.contact),
        "fee_journal": mapping.fee_journal(sent, p, customer_id=CUSTOMER_ID, **src),
        "fee_journal (no receivable)": mapping.fee_journal(sent, p, receivable=False, **src),
        "fee_journal (no receivable, customer named)": mapping.fee_journal(
            sent, p, customer_id=CUSTOMER_ID, receivable=False, **src
        ),
        "fee_payment": mapping.fee_payment(
            sent, p, journal_id=JOURNAL_ID, customer_id=CUSTOMER_ID, **src
        ),
        "fx_margin_journal": mapping.fx_margin_journal(sent, p, **tgt),
        "fee_refund_receipt": mapping.fee_refund_receipt(
            refund, p, item_id=ITEM_ID, customer_id=CUSTOMER_ID, **r_src
        ),
        "fee_item": mapping.fee_item(p),
        "fee_reversal_journal (refund, no receivable)": mapping.fee_reversal_journal(
            refund, p, customer_id=CUSTOMER_ID, receivable=False, **r_src
        ),
        "fee_reversal_journal (failed)": mapping.fee_reversal_journal(
            failed, p, customer_id=CUSTOMER_ID, **f_src
        ),
        "fee_reversal_journal (failed, no receivable)": mapping.fee_reversal_journal(
            failed, p, receivable=False, **f_src
        ),
        "fx_margin_reversal_journal (refund)": mapping.fx_margin_reversal_journal(
            refund, p, **r_tgt
        ),
        "fx_margin_reversal_journal (failed)": mapping.fx_margin_reversal_journal(
            failed, p, **f_tgt
        ),
        "funding_deposit": mapping.funding_deposit(funding, p, **fx(funding.currency)),
        "funding_deposit (customer named)": mapping.funding_deposit(
            funding, p, customer_id=CUSTOMER_ID, **fx(funding.currency)
        ),
        "supplier_payout (bill)": mapping.supplier_payout(
            sent, c, vendor_id=VENDOR_ID, bill_id=BILL_ID, **tgt
        ),
        "supplier_payout (no bill)": mapping.supplier_payout(sent, c, **src),
        "supplier_payout (no bill, vendor)": mapping.supplier_payout(
            sent, c, vendor_id=VENDOR_ID, **src
        ),
        "bank_fee_purchase": mapping.bank_fee_purchase(sent, c, vendor_id=VENDOR_ID, **src),
        "customer_funding_deposit": mapping.customer_funding_deposit(
            funding, c, **fx(funding.currency)
        ),
        "daily_journal": mapping.daily_journal(day, p, **fx(day.currency)),
    }
    entities = {name: ENTITY[name.split(" ")[0]] for name in built}
    entities["supplier_payout (bill)"] = mapping.payout_entity(bill_id=BILL_ID)
    assert mapping.payout_entity(bill_id=None) == "Purchase"
    return {name: (entities[name], body) for name, body in built.items()}


def accepted(built: dict[str, tuple[str, dict[str, Any]]]) -> None:
    for name, (entity, body) in built.items():
        try:
            oracle.check(entity, body)
        except oracle.QuickBooksRefused as exc:
            pytest.fail(f"{name}: {exc}")


def test_every_body_is_accepted_by_intuits_xsds() -> None:
    accepted(bodies(sent=SENT, failed=FAILED, refund=REFUND, funding=FUNDING, day=DAY))


@pytest.mark.django_db
def test_bodies_from_real_transfers_are_accepted_too(alice, send) -> None:
    completed = send("completed")
    failed = send("failed", amount="99.99")
    refunded = send("refunded", source="EUR", target="USD", amount="1234.56")
    entry_id = build_wallet_funding(profile=alice, currency="GBP", amount_minor=250_075)
    today = timezone.now().astimezone(dt.UTC).date()
    days = list(facts.daily_movements(start=today, end=today))
    (day,) = [m for m in days if m.currency == "GBP"]
    built = bodies(
        sent=facts.transfer_facts(transfer_id=completed.pk),
        failed=facts.transfer_facts(transfer_id=failed.pk),
        refund=facts.refund_facts(transfer_id=refunded.pk),
        funding=facts.funding_facts(entry_id=entry_id),
        day=day,
    )
    accepted(built)
    fee = built["fee_journal"][1]
    assert fee["Line"][0]["Amount"] == Decimal(completed.fee_minor).scaleb(-2)
    assert fee["DocNumber"] == f"{completed.reference}-FEE"
    # Every day and currency of the ledger is one balanced JournalEntry (a rate for foreign).
    for m in days:
        journal = mapping.daily_journal(m, PLATFORM_ROLES, **fx(m.currency))
        oracle.check("JournalEntry", journal)
        assert debits_and_credits(journal)[0] == debits_and_credits(journal)[1]


def debits_and_credits(journal: dict[str, Any]) -> tuple[Decimal, Decimal]:
    totals = {"Debit": Decimal(0), "Credit": Decimal(0)}
    for line in journal["Line"]:
        totals[line["JournalEntryLineDetail"]["PostingType"]] += line["Amount"]
    return totals["Debit"], totals["Credit"]


def test_every_journal_entry_balances() -> None:
    built = bodies(sent=SENT, failed=FAILED, refund=REFUND, funding=FUNDING, day=DAY)
    journals = [body for entity, body in built.values() if entity == "JournalEntry"]
    assert len(journals) == 10
    for journal in journals:
        debits, credits = debits_and_credits(journal)
        assert debits == credits > 0
    lossy = dataclasses.replace(SENT, margin_minor=-3)
    loss = mapping.fx_margin_journal(lossy, PLATFORM_ROLES, **fx("EUR"))
    assert debits_and_credits(loss) == (Decimal("0.03"), Decimal("0.03"))


# --------------------------------------------------------------------------- the oracle


def test_the_oracle_catches_a_misspelt_field_and_a_bad_enum() -> None:
    good = mapping.fee_journal(SENT, PLATFORM_ROLES, customer_id=CUSTOMER_ID, **fx("GBP"))
    oracle.check("JournalEntry", good)

    misspelt = oracle.wire(good)
    misspelt["DocNumbr"] = misspelt.pop("DocNumber")
    problems = oracle.xsd_problems("JournalEntry", misspelt)
    assert any(p.startswith("XSD /JournalEntry/DocNumbr:") for p in problems), problems

    nested = oracle.wire(good)
    nested["Line"][0]["JournalEntryLineDetail"]["AccountRefs"] = {"value": "35"}
    problems = oracle.xsd_problems("JournalEntry", nested)
    where = "XSD /JournalEntry/Line[1]/JournalEntryLineDetail/AccountRefs:"
    assert any(p.startswith(where) for p in problems), problems

    bad_enum = oracle.wire(good)
    bad_enum["Line"][0]["JournalEntryLineDetail"]["PostingType"] = "Debitt"
    problems = oracle.xsd_problems("JournalEntry", bad_enum)
    assert any("Line[1]/JournalEntryLineDetail/PostingType" in p for p in problems), problems
    assert any("'Credit', 'Debit'" in p for p in problems)

    bad_detail = oracle.wire(good)
    bad_detail["Line"][1]["DetailType"] = "JournalLineDetail"
    assert oracle.xsd_problems("JournalEntry", bad_detail)

    out_of_order = {"TxnDate": good["TxnDate"], "DocNumber": good["DocNumber"]}
    assert any("DocNumber" in p for p in oracle.xsd_problems("JournalEntry", out_of_order))

    bad_attribute = oracle.wire(good)
    bad_attribute["Line"][0]["JournalEntryLineDetail"]["AccountRef"]["nam"] = "Bank"
    problems = oracle.xsd_problems("JournalEntry", bad_attribute)
    assert any(
        p.startswith("XSD /JournalEntry/Line[1]/JournalEntryLineDetail/AccountRef:") and "nam" in p
        for p in problems
    ), problems

    no_id = oracle.wire(good)
    no_id["Line"][0]["JournalEntryLineDetail"]["AccountRef"] = {"id": "35"}
    assert any("AccountRef" in p for p in oracle.rule_problems("JournalEntry", no_id))

    with pytest.raises(oracle.QuickBooksRefused, match="not an entity"):
        oracle.check("Invoice", good)

    for body in (misspelt, nested, bad_enum, bad_detail, out_of_order, bad_attribute, no_id):
        with pytest.raises(oracle.QuickBooksRefused):
            oracle.check("JournalEntry", body)


def test_the_oracle_catches_a_wrong_type_and_a_missing_required_element() -> None:
    purchase = oracle.wire(mapping.supplier_payout(SENT, CUSTOMER_ROLES, **fx("GBP")))
    text_amount = copy.deepcopy(purchase)
    text_amount["Line"][0]["Amount"] = "nine hundred"
    assert any("Amount" in p for p in oracle.xsd_problems("Purchase", text_amount))
    bad_date = copy.deepcopy(purchase)
    bad_date["TxnDate"] = "01/12/2026"
    assert any("TxnDate" in p for p in oracle.xsd_problems("Purchase", bad_date))

    no_bank = copy.deepcopy(purchase)
    del no_bank["AccountRef"]
    assert "Purchase: AccountRef is required" in oracle.rule_problems("Purchase", no_bank)
    no_posting = oracle.wire(
        mapping.fee_journal(SENT, PLATFORM_ROLES, customer_id=CUSTOMER_ID, **fx("GBP"))
    )
    del no_posting["Line"][1]["JournalEntryLineDetail"]["PostingType"]
    assert (
        "JournalEntry.Line[1].JournalEntryLineDetail: PostingType is required"
        in oracle.rule_problems("JournalEntry", no_posting)
    )
    no_detail = copy.deepcopy(purchase)
    del no_detail["Line"][0]["AccountBasedExpenseLineDetail"]
    assert any("DetailType" in p for p in oracle.rule_problems("Purchase", no_detail))
    unbalanced = oracle.wire(mapping.daily_journal(DAY, PLATFORM_ROLES, **fx("GBP")))
    unbalanced["Line"][0]["Amount"] += 1
    assert any("debits" in p for p in oracle.rule_problems("JournalEntry", unbalanced))
    long_doc = copy.deepcopy(purchase)
    long_doc["DocNumber"] = "X" * 22
    assert any("DocNumber" in p for p in oracle.rule_problems("Purchase", long_doc))

    for entity, body in (
        ("Purchase", text_amount),
        ("Purchase", bad_date),
        ("Purchase", no_bank),
        ("JournalEntry", no_posting),
        ("Purchase", no_detail),
        ("JournalEntry", unbalanced),
        ("Purchase", long_doc),
    ):
        with pytest.raises(oracle.QuickBooksRefused):
            oracle.check(entity, body)


# --------------------------------------------------------------------------- allowlists


def test_a_field_off_the_allowlist_never_leaves() -> None:
    with pytest.raises(FieldNotAllowed, match="BillAddr"):
        mapping.allowlisted("Customer", {"DisplayName": "Alice", "BillAddr": {"Line1": "x"}})
    with pytest.raises(FieldNotAllowed, match="EmailAddress: Default"):
        mapping.allowlisted(
            "Customer", {"PrimaryEmailAddr": {"Address": "a@example.com", "Default": True}}
        )
    with pytest.raises(FieldNotAllowed, match="PrimaryTaxIdentifier"):
        mapping.allowlisted("Customer", {"DisplayName": "Alice", "PrimaryTaxIdentifier": "X"})
    with pytest.raises(MappingError, match="float"):
        mapping.allowlisted("BillPayment", {"TotalAmt": 5.0})
    with pytest.raises(MappingError, match="NoneType"):
        mapping.allowlisted("JournalEntry", {"DocNumber": None})


def _keys(kind: str, obj: dict[str, Any]) -> None:
    allowed = ALLOWED_FIELDS[kind]
    assert set(obj) <= set(allowed), (kind, set(obj) - set(allowed))
    assert list(obj) == [f for f in allowed if f in obj], (kind, list(obj))  # the XSD's order
    for field, value in obj.items():
        nested = allowed[field]
        if nested and nested.startswith("["):
            for item in value:
                _keys(nested[1:-1], item)
        elif nested:
            _keys(nested, value)


def test_every_body_keeps_to_its_allowlist_in_the_xsds_order() -> None:
    built = bodies(sent=SENT, failed=FAILED, refund=REFUND, funding=FUNDING, day=DAY)
    for entity, body in built.values():
        _keys(entity, body)


def test_the_allowlists_name_only_elements_intuit_knows_in_its_order() -> None:
    type_of = {
        "EmailAddress": "EmailAddress",
        "EntityTypeRef": "EntityTypeRef",
        "LinkedTxn": "LinkedTxn",
        "JournalEntryLineDetail": "JournalEntryLineDetail",
        "DepositLineDetail": "DepositLineDetail",
        "AccountBasedExpenseLineDetail": "AccountBasedExpenseLineDetail",
        "BillPaymentCheck": "BillPaymentCheck",
        "JournalEntryLine": "Line",
        "DepositLine": "Line",
        "ExpenseLine": "Line",
        "BillPaymentLine": "Line",
        "PaymentLine": "Line",
        "SalesLine": "Line",
        "SalesItemLineDetail": "SalesItemLineDetail",
    }
    for kind, fields in ALLOWED_FIELDS.items():
        if kind == "Ref":
            assert set(fields) - {"value"} <= oracle.attributes("ReferenceType")
            continue
        order = oracle.sequence(kind if kind in oracle.ENTITIES else type_of[kind])
        assert set(fields) <= set(order), (kind, set(fields) - set(order))
        assert list(fields) == sorted(fields, key=order.index), kind


@pytest.mark.django_db
def test_no_address_registration_or_bank_detail_reaches_quickbooks(send) -> None:
    secrets: dict[str, Any] = {
        "address_line1": "77 Confidential Lane",
        "address_line2": "Hidden Wing",
        "city": "Secretville",
        "postal_code": "ZZ9 9ZZ",
        "registration_number": "REG-SECRET-0042",
    }
    carol = build_profile(legal_name="Carol Exports Ltd", **secrets)
    build_wallet_funding(profile=carol, currency="GBP", amount_minor=5_000_000)
    iban, bic = "DE89370400440532013000", "COBADEFFXXX"
    supplier = build_beneficiary(
        profile=carol,
        currency="EUR",
        holder_name="Carol's supplier GmbH",
        details={"iban": iban, "bic": bic},
    )
    completed = send("completed", profile=carol, beneficiary=supplier)
    failed = send("failed", profile=carol, beneficiary=supplier)
    refunded = send("refunded", profile=carol, beneficiary=supplier)
    funding = facts.funding_facts(
        entry_id=build_wallet_funding(profile=carol, currency="GBP", amount_minor=1_000)
    )
    today = timezone.now().astimezone(dt.UTC).date()
    day = next(m for m in facts.daily_movements(start=today, end=today) if m.currency == "GBP")

    wire = b"".join(
        mapping.dumps(body)
        for _, body in bodies(
            sent=facts.transfer_facts(transfer_id=completed.pk),
            failed=facts.transfer_facts(transfer_id=failed.pk),
            refund=facts.refund_facts(transfer_id=refunded.pk),
            funding=funding,
            day=day,
        ).values()
    ).decode()

    forbidden = [*secrets.values(), iban, iban[4:], bic, supplier.masked_details]
    forbidden.append(completed.customer_transaction_id)
    for value in forbidden:
        assert value not in wire, value
    assert f'"{carol.country}"' not in wire  # no country either
    assert "Carol Exports Ltd" in wire
    assert "Carol's supplier GmbH" in wire


# --------------------------------------------------------------------------- what they say


def test_the_customer_in_full_and_how_it_is_found() -> None:
    assert mapping.customer(ALICE) == {
        "CompanyName": "Alice Trading Ltd",
        "DisplayName": "Alice Trading Ltd [PRF-7]",
        "PrimaryEmailAddr": {"Address": "alice@example.com"},
        "Notes": "Our reference PRF-7",
    }
    assert mapping.customer_query(ALICE) == (
        "select * from Customer where DisplayName like '% [PRF-7]'"
    )
    no_email = mapping.customer(dataclasses.replace(ALICE, email=""))
    assert "PrimaryEmailAddr" not in no_email
    # QuickBooks refuses a colon in DisplayName; a long name is cut, never our reference.
    odd = dataclasses.replace(ALICE, name="Alice: Trading\tLtd " + "x" * 600)
    name = mapping.display_name(odd)
    assert ":" not in name
    assert "\t" not in name
    assert len(name) == mapping.DISPLAY_NAME_MAX
    assert name.endswith(" [PRF-7]")
    oracle.check("Customer", mapping.customer(odd))


def test_the_fee_journal_in_full() -> None:
    assert mapping.fee_journal(
        SENT, PLATFORM_ROLES, home_currency="GBP", customer_id=CUSTOMER_ID, receivable=False
    ) == {
        "DocNumber": "TR0A1B2C3D4E-FEE",
        "TxnDate": "2026-12-01",
        "CurrencyRef": {"value": "GBP"},
        "PrivateNote": "TR0A1B2C3D4E-FEE: Transfer fee, TR0A1B2C3D4E",
        "Line": [
            {
                "Description": "Transfer fee, TR0A1B2C3D4E",
                "Amount": Decimal("5.00"),
                "DetailType": "JournalEntryLineDetail",
                "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": "35"}},
            },
            {
                "Description": "Transfer fee, TR0A1B2C3D4E",
                "Amount": Decimal("5.00"),
                "DetailType": "JournalEntryLineDetail",
                "JournalEntryLineDetail": {
                    "PostingType": "Credit",
                    "Entity": {"Type": "Customer", "EntityRef": {"value": "58"}},
                    "AccountRef": {"value": "79"},
                },
            },
        ],
    }


def test_the_fee_is_owed_then_paid_by_a_payment_and_refunded_by_a_refund_receipt() -> None:
    """Submitted: Dr fee_receivable (the Customer) / Cr fee_revenue. Completed: a Payment into
    client money applied to that journal. Refunded: a RefundReceipt from client money on the
    fee Item. Failed before completion: the journal mirrored. Every one Intuit's XSD accepts."""
    p = PLATFORM_ROLES
    owed = mapping.fee_journal(SENT, p, customer_id=CUSTOMER_ID, **fx("GBP"))
    assert _postings(owed) == [
        ("Debit", p["fee_receivable"], Decimal("5.00")),
        ("Credit", p["fee_revenue"], Decimal("5.00")),
    ]
    receivable_line = owed["Line"][0]["JournalEntryLineDetail"]
    assert receivable_line["Entity"] == {"Type": "Customer", "EntityRef": {"value": CUSTOMER_ID}}
    payment = mapping.fee_payment(
        SENT, p, journal_id=JOURNAL_ID, customer_id=CUSTOMER_ID, **fx("GBP")
    )
    assert payment == {
        "TxnDate": "2026-12-01",
        "CurrencyRef": {"value": "GBP"},
        "PrivateNote": "TR0A1B2C3D4E-FEE-PAY: Transfer fee paid, TR0A1B2C3D4E",
        "Line": [
            {
                "Amount": Decimal("5.00"),
                "LinkedTxn": [{"TxnId": JOURNAL_ID, "TxnType": "JournalEntry"}],
            }
        ],
        "CustomerRef": {"value": CUSTOMER_ID},
        "DepositToAccountRef": {"value": p["client_money"]},
        "PaymentRefNum": "TR0A1B2C3D4E-FEE-PAY",
        "TotalAmt": Decimal("5.00"),
    }
    oracle.check("Payment", payment)
    refund = mapping.fee_refund_receipt(
        REFUND, p, item_id=ITEM_ID, customer_id=CUSTOMER_ID, **fx("GBP")
    )
    assert refund == {
        "DocNumber": "TR0A1B2C3D4E-FEE-RF",
        "TxnDate": "2026-12-03",
        "CurrencyRef": {"value": "GBP"},
        "PrivateNote": "TR0A1B2C3D4E-FEE-RF: Transfer fee refunded, TR0A1B2C3D4E "
        "(gives back TR0A1B2C3D4E-FEE, paid by TR0A1B2C3D4E-FEE-PAY)",
        "Line": [
            {
                "Description": "Transfer fee refunded, TR0A1B2C3D4E",
                "Amount": Decimal("5.00"),
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": ITEM_ID}},
            }
        ],
        "CustomerRef": {"value": CUSTOMER_ID},
        "DepositToAccountRef": {"value": p["client_money"]},
    }
    oracle.check("RefundReceipt", refund)
    item = mapping.fee_item(p)
    assert item == {
        "Name": "Transfer fee",
        "Description": "Transfer fees (posted by the fintech back office)",
        "Type": "Service",
        "IncomeAccountRef": {"value": p["fee_revenue"]},
    }
    oracle.check("Item", item)
    back = mapping.fee_reversal_journal(FAILED, p, customer_id=CUSTOMER_ID, **fx("GBP"))
    assert _postings(back) == [
        ("Debit", p["fee_revenue"], Decimal("5.00")),
        ("Credit", p["fee_receivable"], Decimal("5.00")),
    ]
    assert back["Line"][1]["JournalEntryLineDetail"]["Entity"]["EntityRef"]["value"] == (
        CUSTOMER_ID
    )
    # The oracle refuses a Payment with no customer and a RefundReceipt with no bank account.
    with pytest.raises(oracle.QuickBooksRefused, match="CustomerRef is required"):
        oracle.check("Payment", {k: v for k, v in payment.items() if k != "CustomerRef"})
    with pytest.raises(oracle.QuickBooksRefused, match="DepositToAccountRef is required"):
        oracle.check(
            "RefundReceipt", {k: v for k, v in refund.items() if k != "DepositToAccountRef"}
        )


def _postings(journal: dict[str, Any]) -> list[tuple[str, str, Decimal]]:
    return [
        (
            line["JournalEntryLineDetail"]["PostingType"],
            line["JournalEntryLineDetail"]["AccountRef"]["value"],
            line["Amount"],
        )
        for line in journal["Line"]
    ]


def test_margin_and_its_reversal_mirror_each_other_a_loss_too() -> None:
    p = PLATFORM_ROLES
    money, margin = p["client_money"], p["fx_margin_revenue"]
    kept = mapping.fx_margin_journal(SENT, p, **fx("EUR"))
    assert kept["CurrencyRef"] == {"value": "EUR"}
    assert kept["ExchangeRate"] == RATES["EUR"]
    assert _postings(kept) == [
        ("Debit", money, Decimal("5.72")),
        ("Credit", margin, Decimal("5.72")),
    ]
    back = mapping.fx_margin_reversal_journal(REFUND, p, **fx("EUR"))
    assert back["DocNumber"] == "TR0A1B2C3D4E-FX-REV"
    assert back["TxnDate"] == "2026-12-03"
    assert _postings(back) == [
        ("Debit", margin, Decimal("5.72")),
        ("Credit", money, Decimal("5.72")),
    ]
    loss = dataclasses.replace(SENT, margin_minor=-3)
    assert _postings(mapping.fx_margin_journal(loss, p, **fx("EUR")))[0] == (
        "Debit",
        margin,
        Decimal("0.03"),
    )
    fee_back = mapping.fee_reversal_journal(FAILED, p, customer_id=CUSTOMER_ID, **fx("GBP"))
    assert fee_back["TxnDate"] == "2026-12-02"
    assert _postings(fee_back)[0] == ("Debit", p["fee_revenue"], Decimal("5.00"))


def test_nothing_to_book_is_said_not_sent() -> None:
    free = dataclasses.replace(SENT, fee_minor=0, margin_minor=0)
    p, c = PLATFORM_ROLES, CUSTOMER_ROLES
    with pytest.raises(NothingToMap):
        mapping.fee_journal(free, p, customer_id=CUSTOMER_ID, **fx("GBP"))
    with pytest.raises(NothingToMap):
        mapping.fx_margin_journal(free, p, **fx("EUR"))
    with pytest.raises(NothingToMap):
        mapping.bank_fee_purchase(free, c, **fx("GBP"))
    after_failure = dataclasses.replace(REFUND, fee_minor=0, margin_minor=0)
    with pytest.raises(NothingToMap):
        mapping.fee_reversal_journal(after_failure, p, receivable=False, **fx("GBP"))
    with pytest.raises(NothingToMap):
        mapping.fx_margin_reversal_journal(after_failure, p, **fx("EUR"))
    with pytest.raises(MappingError, match="RefundFacts"):
        mapping.fee_reversal_journal(REFUND.transfer, p, customer_id=CUSTOMER_ID, **fx("GBP"))
    with pytest.raises(MappingError, match="RefundReceipt"):
        mapping.fee_reversal_journal(REFUND, p, customer_id=CUSTOMER_ID, **fx("GBP"))
    with pytest.raises(MappingError, match="needs the Customer"):
        mapping.fee_journal(SENT, p, **fx("GBP"))
    with pytest.raises(NothingToMap):
        mapping.fee_payment(free, p, journal_id=JOURNAL_ID, customer_id=CUSTOMER_ID, **fx("GBP"))
    with pytest.raises(NothingToMap):
        mapping.fee_refund_receipt(
            after_failure, p, item_id=ITEM_ID, customer_id=CUSTOMER_ID, **fx("GBP")
        )
    # A payout without a fee is one line, not a zero line.
    (line,) = mapping.supplier_payout(free, c, **fx("GBP"))["Line"]
    assert line["Amount"] == Decimal("1000.00")


def test_a_foreign_currency_needs_an_exchange_rate() -> None:
    with pytest.raises(MappingError, match=r"EUR transaction .* home currency is GBP"):
        mapping.fx_margin_journal(SENT, PLATFORM_ROLES, home_currency="GBP")
    eur_day = dataclasses.replace(DAY, currency="EUR")
    with pytest.raises(MappingError, match="ExchangeRate"):
        mapping.daily_journal(eur_day, PLATFORM_ROLES, home_currency="GBP")
    journal = mapping.daily_journal(eur_day, PLATFORM_ROLES, **fx("EUR"))
    assert (journal["CurrencyRef"], journal["ExchangeRate"]) == ({"value": "EUR"}, RATES["EUR"])
    oracle.check("JournalEntry", journal)
    home = mapping.daily_journal(DAY, PLATFORM_ROLES, home_currency="GBP")
    assert home["CurrencyRef"] == {"value": "GBP"}
    assert "ExchangeRate" not in home
    for bad in (Decimal(0), Decimal(-1), Decimal("NaN"), 0.85):
        with pytest.raises(MappingError, match="ExchangeRate"):
            mapping.daily_journal(
                eur_day,
                PLATFORM_ROLES,
                home_currency="GBP",
                exchange_rate=bad,  # type: ignore[arg-type]
            )
    with pytest.raises(MappingError, match="home currency"):
        mapping.daily_journal(
            DAY, PLATFORM_ROLES, home_currency="GBP", exchange_rate=Decimal("1.2")
        )


def test_a_supplier_payout_is_a_bill_payment_or_a_purchase_from_the_wallet() -> None:
    c = CUSTOMER_ROLES
    paid = mapping.supplier_payout(SENT, c, vendor_id=VENDOR_ID, bill_id=BILL_ID, **fx("EUR"))
    assert paid["VendorRef"] == {"value": VENDOR_ID}
    assert paid["PayType"] == "Check"
    assert paid["CheckPayment"] == {"BankAccountRef": {"value": c["wallet_bank"]}}
    assert paid["TotalAmt"] == Decimal("1138.53") == paid["Line"][0]["Amount"]
    assert paid["Line"][0]["LinkedTxn"] == [{"TxnId": BILL_ID, "TxnType": "Bill"}]
    with pytest.raises(MappingError, match="vendor"):
        mapping.supplier_payout(SENT, c, bill_id=BILL_ID, **fx("EUR"))

    spent = mapping.supplier_payout(SENT, c, **fx("GBP"))
    assert spent["PaymentType"] == "Cash"
    assert spent["AccountRef"] == {"value": c["wallet_bank"]}
    assert "EntityRef" not in spent
    assert [
        (line["AccountBasedExpenseLineDetail"]["AccountRef"]["value"], line["Amount"])
        for line in spent["Line"]
    ] == [(c["payout_clearing"], Decimal("995.00")), (c["bank_fees"], Decimal("5.00"))]
    assert "Alice's supplier GmbH" in spent["Line"][0]["Description"]
    assert sum(line["Amount"] for line in spent["Line"]) == Decimal("1000.00")
    to_vendor = mapping.supplier_payout(SENT, c, vendor_id=VENDOR_ID, **fx("GBP"))
    assert to_vendor["EntityRef"] == {"value": VENDOR_ID, "type": "Vendor"}


def test_fundings_are_deposits_in_both_books() -> None:
    ours = mapping.funding_deposit(FUNDING, PLATFORM_ROLES, customer_id=CUSTOMER_ID, **fx("GBP"))
    assert ours["DepositToAccountRef"] == {"value": PLATFORM_ROLES["client_money"]}
    (line,) = ours["Line"]
    assert line["Amount"] == Decimal("10000.00")
    assert line["DepositLineDetail"] == {
        "Entity": {"value": CUSTOMER_ID, "type": "CUSTOMER"},
        "AccountRef": {"value": PLATFORM_ROLES["customer_funds"]},
    }
    # The entry's key is too long for DocNumber: hashed there, in full in PrivateNote.
    assert len(ours["DocNumber"]) == 21
    assert ours["DocNumber"].startswith("R")
    assert ours["PrivateNote"].startswith(FUNDING.reference)
    theirs = mapping.customer_funding_deposit(FUNDING, CUSTOMER_ROLES, **fx("GBP"))
    assert theirs["DocNumber"] == ours["DocNumber"]
    assert theirs["DepositToAccountRef"] == {"value": CUSTOMER_ROLES["wallet_bank"]}
    assert theirs["Line"][0]["DepositLineDetail"] == {
        "AccountRef": {"value": CUSTOMER_ROLES["funding_clearing"]}
    }


def test_a_day_is_one_balanced_journal_entry_gross_per_role() -> None:
    journal = mapping.daily_journal(DAY, PLATFORM_ROLES, **fx("GBP"))
    assert journal["DocNumber"] == "LJ-20261201-GBP"
    assert journal["TxnDate"] == "2026-12-01"
    assert "(3 entries)" in journal["PrivateNote"]
    assert len(journal["Line"]) == 7  # payout_clearing and customer_funds both ways
    assert debits_and_credits(journal) == (Decimal("12000.00"), Decimal("12000.00"))
    broken = dataclasses.replace(DAY, lines=(MovementLine("client_money", 5, 0),))
    with pytest.raises(MappingError, match="balance"):
        mapping.daily_journal(broken, PLATFORM_ROLES, **fx("GBP"))


def test_amounts_keep_the_currency_exponent() -> None:
    assert mapping.amount(123_456, "JPY") == Decimal("123456")
    assert str(mapping.amount(1_234_567, "KWD")) == "1234.567"
    assert str(mapping.amount(500, "GBP")) == "5.00"
    assert b'"Amount":5.00' in mapping.dumps(
        mapping.fee_journal(SENT, PLATFORM_ROLES, customer_id=CUSTOMER_ID, **fx("GBP"))
    )


def test_a_role_without_an_account_is_a_clear_error() -> None:
    roles_without = {k: v for k, v in PLATFORM_ROLES.items() if k != "fee_revenue"}
    with pytest.raises(MappingError, match="'fee_revenue'"):
        mapping.fee_journal(SENT, roles_without, customer_id=CUSTOMER_ID, **fx("GBP"))


def test_request_ids_and_doc_numbers_are_stable_and_fit() -> None:
    key = "quickbooks:conn-3:fee:TR0A1B2C3D4E" + "x" * 100
    assert mapping.requestid_for(key) == mapping.requestid_for(key)
    assert mapping.requestid_for(key) != mapping.requestid_for(key + "y")
    assert len(mapping.requestid_for(key)) <= mapping.REQUEST_ID_MAX
    with pytest.raises(MappingError):
        mapping.requestid_for("")
    assert mapping.doc_number("TR0A1B2C3D4E-FX-REV") == "TR0A1B2C3D4E-FX-REV"
    long = mapping.doc_number(FUNDING.reference)
    assert long == mapping.doc_number(FUNDING.reference)
    assert len(long) == 21


# --------------------------------------------------------------------------- roles


def test_roles_name_account_types_intuit_has_and_cover_every_builder() -> None:
    types = oracle.enumeration("AccountTypeEnum")
    sub_types = oracle.enumeration("AccountSubTypeEnum")
    classifications = oracle.enumeration("AccountClassificationEnum")
    assert set(roles.CLASSIFICATION_BY_TYPE) <= types
    for spec in (*ROLES_PLATFORM, *ROLES_CUSTOMER):
        assert spec.meaning
        assert set(spec.account_types) <= types, spec
        assert spec.account_sub_type in sub_types, spec
        assert spec.classification in classifications
        assert {roles.CLASSIFICATION_BY_TYPE[t] for t in spec.account_types} == {
            spec.classification
        }
    assert {s.name for s in ROLES_PLATFORM} == set(PLATFORM_ROLES)
    assert {s.name for s in ROLES_CUSTOMER} == set(CUSTOMER_ROLES)
    assert set(facts.JOURNAL_ROLES) <= {s.name for s in ROLES_PLATFORM}
    client_money = next(s for s in ROLES_PLATFORM if s.name == "client_money")
    assert client_money.accepts("Bank")
    assert not client_money.accepts("Other Current Liability")


# --------------------------------------------------------------------------- the wire


def test_every_body_survives_the_wire_exactly() -> None:
    built = bodies(sent=SENT, failed=FAILED, refund=REFUND, funding=FUNDING, day=DAY)
    for name, (_, body) in built.items():
        assert oracle.wire(body) == body, name
        assert b"e+" not in mapping.dumps(body).lower(), name  # no exponent notation
    with pytest.raises(TypeError, match="float"):
        mapping.dumps({"Amount": 5.0})
