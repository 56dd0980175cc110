"""The Xero mapping: every body it builds is one Xero's own SDK model and OpenAPI schema
accept, carries only allowlisted fields, and says exactly what the ledger's facts say."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
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
from integrations.connectors.accounting.xero import mapping, roles
from integrations.connectors.accounting.xero.mapping import (
    ALLOWED_FIELDS,
    ROLES_CUSTOMER,
    ROLES_PLATFORM,
    FieldNotAllowed,
    MappingError,
    NothingToMap,
)
from tests.builders import build_beneficiary, build_profile, build_wallet_funding
from tests.connectors.xero import oracle
from tests.connectors.xero.conftest import CUSTOMER_ROLES, PLATFORM_ROLES

INVOICE_ID = "2f1c6f8e-3d4b-4f7a-9c1e-5b8a7d6c4e21"
BILL_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
CONTACT_ID = "0c5a3e2b-7f61-4d8e-a9b0-3c2d1e4f5a6b"

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


def bodies(
    *,
    sent: TransferFacts,
    failed: TransferFacts,
    refund: RefundFacts,
    funding: FundingFacts,
    day: DayMovement,
) -> dict[str, dict[str, Any]]:
    """Every builder's output for these facts (both ways where a builder has two)."""
    p, c = PLATFORM_ROLES, CUSTOMER_ROLES
    return {
        "contact": mapping.contact(sent.contact),
        "fee_invoice": mapping.fee_invoice(sent, p),
        "fee_invoice by id, with a rate": mapping.fee_invoice(
            sent, p, contact_id=CONTACT_ID, currency_rate=Decimal("1.1712")
        ),
        "fee_payment": mapping.fee_payment(sent, p, invoice_id=INVOICE_ID),
        "fx_margin_receipt": mapping.fx_margin_receipt(sent, p),
        "fee_credit_note (refund)": mapping.fee_credit_note(refund, p),
        "fee_credit_note (failed)": mapping.fee_credit_note(failed, p, contact_id=CONTACT_ID),
        "credit_note_allocation": mapping.credit_note_allocation(
            invoice_id=INVOICE_ID, amount=mapping.amount(sent.fee_minor, "GBP"), date=day.day
        ),
        "fx_margin_reversal (refund)": mapping.fx_margin_reversal(refund, p),
        "fx_margin_reversal (failed)": mapping.fx_margin_reversal(failed, p),
        "funding_receipt": mapping.funding_receipt(funding, p),
        "supplier_payout (bill)": mapping.supplier_payout(sent, c, bill_id=BILL_ID),
        "supplier_payout (no bill)": mapping.supplier_payout(sent, c, bill_id=None),
        "bank_fee_spend": mapping.bank_fee_spend(sent, c, provider_name="Fintech Ltd"),
        "customer_funding_receipt": mapping.customer_funding_receipt(funding, c),
        "daily_journal": mapping.daily_journal(day, p),
    }


def test_every_body_is_accepted_by_xeros_model_and_schema() -> None:
    for name, body in bodies(
        sent=SENT, failed=FAILED, refund=REFUND, funding=FUNDING, day=DAY
    ).items():
        try:
            oracle.check(body)
        except oracle.XeroRefused as exc:
            pytest.fail(f"{name}: {exc}")


@pytest.mark.django_db
def test_bodies_from_real_transfers_are_accepted_too(alice, send) -> None:
    completed = send("completed")
    failed = send("failed", amount="99.99")
    refunded = send("refunded", source="EUR", target="USD", amount="1234.56")
    entry_id = build_wallet_funding(profile=alice, currency="GBP", amount_minor=250_075)
    today = timezone.now().astimezone(dt.UTC).date()
    (day,) = [m for m in facts.daily_movements(start=today, end=today) if m.currency == "GBP"]
    built = bodies(
        sent=facts.transfer_facts(transfer_id=completed.pk),
        failed=facts.transfer_facts(transfer_id=failed.pk),
        refund=facts.refund_facts(transfer_id=refunded.pk),
        funding=facts.funding_facts(entry_id=entry_id),
        day=day,
    )
    for name, body in built.items():
        try:
            oracle.check(body)
        except oracle.XeroRefused as exc:
            pytest.fail(f"{name}: {exc}")
    invoice = built["fee_invoice"]["Invoices"][0]
    assert invoice["LineItems"][0]["UnitAmount"] == Decimal(completed.fee_minor).scaleb(-2)
    assert invoice["InvoiceNumber"] == completed.reference


# --------------------------------------------------------------------------- the oracle


def test_the_oracle_catches_a_misspelt_key_and_a_bad_enum() -> None:
    good = mapping.fee_invoice(SENT, PLATFORM_ROLES)
    oracle.check(good)

    misspelt = oracle.wire(good)
    misspelt["Invoices"][0]["InvoiceNumbr"] = misspelt["Invoices"][0].pop("InvoiceNumber")
    assert any("InvoiceNumbr" in p for p in oracle.sdk_problems(misspelt))
    assert any("InvoiceNumbr" in p for p in oracle.schema_problems(misspelt))

    nested = oracle.wire(good)
    nested["Invoices"][0]["LineItems"][0]["AccountCod"] = "200"
    assert any("AccountCod" in p for p in oracle.sdk_problems(nested))
    assert any("AccountCod" in p for p in oracle.schema_problems(nested))

    bad_enum = oracle.wire(good)
    bad_enum["Invoices"][0]["Type"] = "ACCRECX"
    assert any("ACCRECX" in p for p in oracle.sdk_problems(bad_enum))
    assert any("ACCRECX" in p for p in oracle.schema_problems(bad_enum))

    bad_currency = oracle.wire(good)
    bad_currency["Invoices"][0]["CurrencyCode"] = "GPB"
    assert oracle.sdk_problems(bad_currency)
    assert oracle.schema_problems(bad_currency)

    read_only = oracle.wire(good)
    read_only["Invoices"][0]["Total"] = 5
    assert any("Total" in p for p in oracle.schema_problems(read_only))

    for body in (misspelt, nested, bad_enum, bad_currency, read_only):
        with pytest.raises(oracle.XeroRefused):
            oracle.check(body)


def test_the_oracle_catches_a_wrong_type_and_a_missing_required_field() -> None:
    spend = oracle.wire(mapping.supplier_payout(SENT, CUSTOMER_ROLES, bill_id=None))
    no_bank = copy.deepcopy(spend)
    del no_bank["BankTransactions"][0]["BankAccount"]
    assert any("BankAccount" in p for p in oracle.schema_problems(no_bank))
    text_amount = copy.deepcopy(spend)
    text_amount["BankTransactions"][0]["LineItems"][0]["UnitAmount"] = "995.00"
    assert oracle.schema_problems(text_amount)


# --------------------------------------------------------------------------- allowlists


def test_a_field_off_the_allowlist_never_leaves() -> None:
    with pytest.raises(FieldNotAllowed, match="Addresses"):
        mapping.allowlisted("Contact", {"Name": "Alice", "Addresses": []})
    with pytest.raises(FieldNotAllowed, match="ContactRef: EmailAddress"):
        mapping.allowlisted(
            "Invoice", {"Contact": {"ContactNumber": "PRF-7", "EmailAddress": "a@example.com"}}
        )
    with pytest.raises(FieldNotAllowed, match="BankAccountDetails"):
        mapping.envelope("Contact", {"Name": "Alice", "BankAccountDetails": "GB00..."})
    with pytest.raises(MappingError, match="float"):
        mapping.allowlisted("Payment", {"Amount": 5.0})


def _keys(kind: str, obj: dict[str, Any]) -> None:
    allowed = ALLOWED_FIELDS[kind]
    assert set(obj) <= set(allowed), (kind, set(obj) - set(allowed))
    for field, value in obj.items():
        nested = allowed[field]
        if nested and nested.startswith("["):
            for item in value:
                _keys(nested[1:-1], item)
        elif nested:
            _keys(nested, value)


def test_every_body_keeps_to_its_allowlist() -> None:
    kinds = {plural: kind for kind, plural in mapping.ENVELOPES.items()}
    for body in bodies(sent=SENT, failed=FAILED, refund=REFUND, funding=FUNDING, day=DAY).values():
        ((plural, objects),) = body.items()
        for obj in objects:
            _keys(kinds[plural], obj)


def test_the_allowlists_name_only_fields_xero_knows() -> None:
    schemas = oracle._spec()["components"]["schemas"]
    schema_of = {
        "ContactRef": "Contact",
        "AccountRef": "Account",
        "InvoiceRef": "Invoice",
        "CreditNoteRef": "CreditNote",
        "TrackingRef": "LineItemTracking",
    }
    for kind, fields in ALLOWED_FIELDS.items():
        properties = schemas[schema_of.get(kind, kind)]["properties"]
        for field in fields:
            assert field in properties, f"{kind}.{field} is not in Xero's schema"
            assert not properties[field].get("readOnly"), f"{kind}.{field} is read-only"


@pytest.mark.django_db
def test_no_address_registration_or_bank_detail_reaches_xero(send) -> None:
    secrets = {
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
        for body in bodies(
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


def test_the_fee_invoice_in_full() -> None:
    assert mapping.fee_invoice(SENT, PLATFORM_ROLES) == {
        "Invoices": [
            {
                "Type": "ACCREC",
                "Contact": {"ContactNumber": "PRF-7"},
                "Date": "2026-12-01",
                "DueDate": "2026-12-01",
                "LineAmountTypes": "NoTax",
                "InvoiceNumber": "TR0A1B2C3D4E",
                "Reference": "TR0A1B2C3D4E",
                "CurrencyCode": "GBP",
                "Status": "AUTHORISED",
                "LineItems": [
                    {
                        "Description": "Transfer fee, TR0A1B2C3D4E",
                        "Quantity": Decimal(1),
                        "UnitAmount": Decimal("5.00"),
                        "AccountCode": "200",
                    }
                ],
            }
        ]
    }


def test_currency_rate_is_sent_only_when_given() -> None:
    plain = mapping.fee_invoice(SENT, PLATFORM_ROLES)["Invoices"][0]
    assert "CurrencyRate" not in plain
    rated = mapping.fee_invoice(SENT, PLATFORM_ROLES, currency_rate=Decimal("1.1712"))
    assert rated["Invoices"][0]["CurrencyRate"] == Decimal("1.1712")
    with pytest.raises(MappingError):
        mapping.fee_invoice(SENT, PLATFORM_ROLES, currency_rate=Decimal("-1"))


def test_margin_is_received_and_a_negative_one_spent_and_reversals_mirror_them() -> None:
    receipt = mapping.fx_margin_receipt(SENT, PLATFORM_ROLES)["BankTransactions"][0]
    assert (receipt["Type"], receipt["CurrencyCode"]) == ("RECEIVE", "EUR")
    assert receipt["BankAccount"] == {"Code": "090"}
    assert receipt["LineItems"][0]["UnitAmount"] == Decimal("5.72")
    assert receipt["LineItems"][0]["AccountCode"] == "260"
    assert receipt["Reference"] == "TR0A1B2C3D4E-FX"

    loss = dataclasses.replace(SENT, margin_minor=-3)
    spend = mapping.fx_margin_receipt(loss, PLATFORM_ROLES)["BankTransactions"][0]
    assert (spend["Type"], spend["LineItems"][0]["UnitAmount"]) == ("SPEND", Decimal("0.03"))
    oracle.check(mapping.fx_margin_receipt(loss, PLATFORM_ROLES))

    back = mapping.fx_margin_reversal(REFUND, PLATFORM_ROLES)["BankTransactions"][0]
    assert (back["Type"], back["Date"], back["Reference"]) == (
        "SPEND",
        "2026-12-03",
        "TR0A1B2C3D4E-FX-REV",
    )
    loss_back = mapping.fx_margin_reversal(
        dataclasses.replace(FAILED, margin_minor=-3), PLATFORM_ROLES
    )
    assert loss_back["BankTransactions"][0]["Type"] == "RECEIVE"


def test_nothing_to_book_is_said_not_sent() -> None:
    free = dataclasses.replace(SENT, fee_minor=0, margin_minor=0)
    for build in (mapping.fee_invoice, mapping.fx_margin_receipt):
        with pytest.raises(NothingToMap):
            build(free, PLATFORM_ROLES)
    with pytest.raises(NothingToMap):
        mapping.fee_payment(free, PLATFORM_ROLES, invoice_id=INVOICE_ID)
    after_failure = dataclasses.replace(REFUND, fee_minor=0, margin_minor=0)
    with pytest.raises(NothingToMap):
        mapping.fee_credit_note(after_failure, PLATFORM_ROLES)
    with pytest.raises(NothingToMap):
        mapping.fx_margin_reversal(after_failure, PLATFORM_ROLES)


def test_fee_comes_back_from_a_refund_or_an_unwind_never_twice() -> None:
    note = mapping.fee_credit_note(REFUND, PLATFORM_ROLES)["CreditNotes"][0]
    assert (note["Type"], note["Status"], note["Date"]) == (
        "ACCRECCREDIT",
        "AUTHORISED",
        "2026-12-03",
    )
    assert (note["CreditNoteNumber"], note["Reference"]) == ("TR0A1B2C3D4E-CN", "TR0A1B2C3D4E")
    assert note["LineItems"][0]["UnitAmount"] == Decimal("5.00")
    on_failure = mapping.fee_credit_note(FAILED, PLATFORM_ROLES)["CreditNotes"][0]
    assert on_failure["Date"] == "2026-12-02"
    # A standing transfer, or a refunded one seen as TransferFacts, has nothing to give back
    # here (the refund's own facts say what it gave back).
    for t in (SENT, REFUND.transfer):
        with pytest.raises(MappingError, match="RefundFacts"):
            mapping.fee_credit_note(t, PLATFORM_ROLES)


def test_credit_note_allocation() -> None:
    body = mapping.credit_note_allocation(
        invoice_id=INVOICE_ID, amount=Decimal("5.00"), date=dt.date(2026, 12, 3)
    )
    assert body == {
        "Allocations": [
            {"Invoice": {"InvoiceID": INVOICE_ID}, "Amount": Decimal("5.00"), "Date": "2026-12-03"}
        ]
    }
    for bad in (Decimal(0), Decimal("-1"), Decimal("NaN"), 5.0):
        with pytest.raises(MappingError):
            mapping.credit_note_allocation(invoice_id=INVOICE_ID, amount=bad, date=dt.date.today())  # type: ignore[arg-type]


def test_a_supplier_payout_is_a_bill_payment_or_a_spend_of_the_wallet() -> None:
    paid = mapping.supplier_payout(SENT, CUSTOMER_ROLES, bill_id=BILL_ID)["Payments"][0]
    assert paid == {
        "Invoice": {"InvoiceID": BILL_ID},
        "Account": {"Code": "091"},
        "Date": "2026-12-01",
        "Amount": Decimal("1138.53"),
        "Reference": "TR0A1B2C3D4E",
    }
    spend = mapping.supplier_payout(SENT, CUSTOMER_ROLES, bill_id=None)["BankTransactions"][0]
    assert (spend["Type"], spend["CurrencyCode"]) == ("SPEND", "GBP")
    assert spend["Contact"] == {"Name": "Alice's supplier GmbH"}
    assert spend["BankAccount"] == {"Code": "091"}
    lines = spend["LineItems"]
    assert [(line["AccountCode"], line["UnitAmount"]) for line in lines] == [
        ("822", Decimal("995.00")),
        ("404", Decimal("5.00")),
    ]
    assert sum(line["UnitAmount"] for line in lines) == Decimal("1000.00")  # left the wallet
    assert "1138.53 EUR at 1.14425" in lines[0]["Description"]
    fee = mapping.bank_fee_spend(SENT, CUSTOMER_ROLES, provider_name="Fintech Ltd")
    assert fee["BankTransactions"][0]["LineItems"][0]["UnitAmount"] == Decimal("5.00")


def test_fundings_in_both_books() -> None:
    ours = mapping.funding_receipt(FUNDING, PLATFORM_ROLES)["BankTransactions"][0]
    assert (ours["Type"], ours["BankAccount"], ours["Reference"]) == (
        "RECEIVE",
        {"Code": "090"},
        "wallet-funding:sandbox-bank:BANK-00000042",
    )
    assert ours["LineItems"][0]["AccountCode"] == "820"
    assert ours["LineItems"][0]["UnitAmount"] == Decimal("10000.00")
    theirs = mapping.customer_funding_receipt(FUNDING, CUSTOMER_ROLES)["BankTransactions"][0]
    assert (theirs["BankAccount"], theirs["LineItems"][0]["AccountCode"]) == (
        {"Code": "091"},
        "610",
    )


def test_amounts_keep_the_currency_exponent_and_xero_two_decimals() -> None:
    assert mapping.amount(123_456, "GBP") == Decimal("1234.56")
    assert str(mapping.amount(100, "GBP")) == "1.00"
    assert str(mapping.amount(1_500, "JPY")) == "1500"
    assert str(mapping.amount(1_230, "KWD")) == "1.230"
    with pytest.raises(MappingError, match="KWD"):
        mapping.amount(1_235, "KWD")
    jpy = dataclasses.replace(SENT, source_currency="JPY", source_minor=10_000, fee_minor=140)
    assert mapping.dumps(mapping.fee_invoice(jpy, PLATFORM_ROLES)).count(b'"UnitAmount":140,') == 1


def test_a_role_without_an_account_is_a_clear_error() -> None:
    with pytest.raises(MappingError, match="fee_revenue"):
        mapping.fee_invoice(SENT, {"client_money": "090"})


# --------------------------------------------------------------------------- journals


def test_a_day_is_a_balanced_posted_manual_journal() -> None:
    journal = mapping.daily_journal(DAY, PLATFORM_ROLES)["ManualJournals"][0]
    assert journal["Narration"] == "Ledger 2026-12-01 GBP (3 entries)"
    assert (journal["Date"], journal["Status"]) == ("2026-12-01", "POSTED")
    lines = journal["JournalLines"]
    assert sum(line["LineAmount"] for line in lines) == 0
    assert {
        "LineAmount": Decimal("10000.00"),
        "AccountCode": "090",
        "Description": "client_money debits",
    } in lines
    assert {
        "LineAmount": Decimal("-5.00"),
        "AccountCode": "200",
        "Description": "fee_revenue credits",
    } in lines
    assert len(lines) == 7  # a debit and a credit line per role that had them, gross


def test_journals_post_in_the_base_currency_only() -> None:
    assert mapping.journal_currency_supported("GBP", "GBP")
    assert not mapping.journal_currency_supported("EUR", "GBP")
    mapping.daily_journal(DAY, PLATFORM_ROLES, base_currency="GBP")
    with pytest.raises(MappingError, match="base currency"):
        mapping.daily_journal(
            dataclasses.replace(DAY, currency="EUR"), PLATFORM_ROLES, base_currency="GBP"
        )


# --------------------------------------------------------------------------- roles


def test_roles_name_account_types_xero_has_and_cover_every_builder() -> None:
    schemas = oracle._spec()["components"]["schemas"]
    types = set(schemas["AccountType"]["enum"])
    classes = set(schemas["Account"]["properties"]["Class"]["enum"])
    for spec in (*ROLES_PLATFORM, *ROLES_CUSTOMER):
        assert spec.meaning
        assert set(spec.account_types) <= types, spec
        assert spec.account_class in classes
        assert all(roles.ACCOUNT_CLASS_BY_TYPE[t] == spec.account_class for t in spec.account_types)
    assert {s.name for s in ROLES_PLATFORM} == set(PLATFORM_ROLES)
    assert {s.name for s in ROLES_CUSTOMER} == set(CUSTOMER_ROLES)
    assert set(facts.JOURNAL_ROLES) <= {s.name for s in ROLES_PLATFORM}
    assert next(s for s in ROLES_PLATFORM if s.name == "client_money").accepts("BANK")
    assert not next(s for s in ROLES_PLATFORM if s.name == "client_money").accepts("CURRLIAB")


# --------------------------------------------------------------------------- the wire


def test_dumps_writes_decimals_exactly_and_never_floats() -> None:
    body = {"A": Decimal("0.10"), "B": [Decimal("-5.00"), Decimal("123456789.123")], "C": "Zoë"}
    assert mapping.dumps(body) == '{"A":0.10,"B":[-5.00,123456789.123],"C":"Zoë"}'.encode()
    assert json.loads(mapping.dumps(body), parse_float=Decimal) == body
    assert mapping.dumps({"n": None, "t": True, "i": 3, "q": 'say "hi"'}) == (
        b'{"n":null,"t":true,"i":3,"q":"say \\"hi\\""}'
    )
    assert mapping.dumps({"x": Decimal("1E+2")}) == b'{"x":100}'
    for bad in ({"x": 0.1}, {"x": Decimal("NaN")}, {"x": Decimal("Infinity")}, {1: "a"}):
        with pytest.raises((TypeError, ValueError)):
            mapping.dumps(bad)


def test_every_body_survives_the_wire_exactly() -> None:
    for body in bodies(sent=SENT, failed=FAILED, refund=REFUND, funding=FUNDING, day=DAY).values():
        assert oracle.wire(body) == body


def test_tax_and_tracking_settings_reach_every_line_and_stay_valid() -> None:
    from integrations.connectors.accounting.xero.mapping import envelope, with_line_settings

    body = envelope(
        "Invoice",
        {
            "Type": "ACCREC",
            "Contact": {"ContactNumber": "PRF-1"},
            "Date": "2026-12-01",
            "LineAmountTypes": "NoTax",
            "InvoiceNumber": "TR1",
            "CurrencyCode": "GBP",
            "Status": "AUTHORISED",
            "LineItems": [
                {"Description": "fee", "Quantity": Decimal(1), "UnitAmount": Decimal("1.50"),
                 "AccountCode": "200"},
            ],
        },
    )  # fmt: skip
    tracked = with_line_settings(
        body, tax_type="EXEMPTOUTPUT", tracking=[{"name": "Region", "option": "Europe"}]
    )
    line = tracked["Invoices"][0]["LineItems"][0]
    assert line["TaxType"] == "EXEMPTOUTPUT"
    assert line["Tracking"] == [{"Name": "Region", "Option": "Europe"}]
    assert tracked["Invoices"][0]["LineAmountTypes"] == "Exclusive"
    oracle.check(tracked)
    assert with_line_settings(body) == body  # no settings: unchanged
