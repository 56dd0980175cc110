"""The statement parsers against the vendors' own files (../shared/third_party, read here only).

camt: each XML beside its JSON (Genkgo's parse of the same file, amounts in minor units) must
agree on every field we normalise. MT940: each file against the `mt-940` package's own parse
of the same text, and balance continuity computed independently from that parse."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import mt940
import pytest

from fintech.core.errors import ValidationFailed
from integrations.reconciliation.parsers.camt import parse_camt
from integrations.reconciliation.parsers.csv_statement import parse_csv
from integrations.reconciliation.parsers.mt940_statement import parse_mt940
from tests.third_party import THIRD_PARTY

CAMT = THIRD_PARTY / "camt"
MT940 = THIRD_PARTY / "mt940"
CAMT_FILES = sorted(p for p in CAMT.glob("*.xml") if p.name != "camt053.v2.wrong.xml")
# Whole statements (the cmxl files beside them are single-field fragments without :20:).
MT940_FILES = sorted(MT940.glob("jejik/*.sta"))

pytestmark = pytest.mark.skipif(not CAMT.is_dir(), reason="vendor files not present")


def _day(value: dict[str, Any] | None) -> date | None:
    return date.fromisoformat(value["0"][:10]) if value else None


def _expected_records(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Genkgo's JSON writes a record once and "__RECURSIVITY__" where it repeats."""
    records = [r for r in message["getRecords"] if isinstance(r, dict)]
    for entry in message["getEntries"]:
        record = entry.get("getRecord")
        if isinstance(record, dict) and record not in records:
            records.append(record)
    return records


def _balance(record: dict[str, Any], kind: str) -> tuple[int, str, date | None] | None:
    for balance in record.get("getBalances") or []:
        if balance["getType"] == kind:
            money = balance["getAmount"]
            return (
                int(money["getAmount"]),
                money["getCurrency"]["getCode"],
                _day(balance["getDate"]),
            )
    return None


@pytest.mark.parametrize("path", CAMT_FILES, ids=lambda p: p.name)
def test_every_camt_fixture_parses_to_its_expected_json(path: Path):
    expected = json.loads(path.with_suffix(".json").read_text())
    statements = parse_camt(path.read_bytes(), filename=path.name)

    records = _expected_records(expected)
    assert len(statements) == len(records)
    assert {s.format for s in statements} == {path.name[:7]}
    for statement, record in zip(statements, records, strict=True):
        assert statement.statement_id == record["getId"]
        assert statement.account_number == record["getAccount"]["getIdentification"]
        assert statement.sequence_number == (
            record.get("getElectronicSequenceNumber") or record.get("getLegalSequenceNumber") or ""
        )
        for ours, kind in ((statement.opening, "opening"), (statement.closing, "closing")):
            theirs = _balance(record, kind)
            assert (
                (ours.amount_minor, ours.currency, ours.date) == theirs if ours else theirs is None
            )

    entries = expected["getEntries"]
    lines = [line for s in statements for line in s.lines]
    assert len(lines) == len(entries)
    for line, entry in zip(lines, entries, strict=True):
        assert line.amount_minor == int(entry["getAmount"]["getAmount"])
        assert line.currency == entry["getAmount"]["getCurrency"]["getCode"]
        assert (line.amount_minor >= 0) == (entry["getCreditDebitIndicator"] == "CRDT")
        assert line.booking_date == _day(entry.get("getBookingDate"))
        assert line.value_date == _day(entry.get("getValueDate"))
        if entry.get("getAccountServicerReference"):
            assert line.bank_reference == entry["getAccountServicerReference"]
        detail = entry.get("getTransactionDetail") or {}
        reference = detail.get("getReference") or {}
        assert line.end_to_end_id == (reference.get("getEndToEndId") or "")
        assert line.uetr == (reference.get("getUuidEndToEndReference") or "")
        remittance = detail.get("getRemittanceInformation") or {}
        assert line.remittance_info == (remittance.get("getMessage") or "")


def test_camt_wrong_is_refused_naming_what_is_missing():
    path = CAMT / "camt053.v2.wrong.xml"
    with pytest.raises(ValidationFailed) as refused:
        parse_camt(path.read_bytes(), filename=path.name)
    assert "camt053.v2.wrong.xml/BkToCstmrStmt" in str(refused.value)
    assert "Stmt is required" in str(refused.value)


def test_truncated_camt_is_refused_with_the_line():
    content = (CAMT / "camt053.v8.xml").read_bytes()
    with pytest.raises(ValidationFailed) as refused:
        parse_camt(content[: len(content) // 2], filename="cut.xml")
    assert "malformed_xml" in [f.code for f in refused.value.fields]
    assert "line" in str(refused.value)


def test_camt_with_a_dtd_or_entities_is_refused_before_parsing():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&b;</Document>'
    )
    with pytest.raises(ValidationFailed) as refused:
        parse_camt(laughs, filename="laughs.xml")
    assert refused.value.fields[0].code == "dtd_refused"


def test_xml_that_is_not_camt_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        parse_camt(b"<?xml version='1.0'?><invoice><total>1</total></invoice>", filename="x.xml")
    assert refused.value.fields[0].code == "not_camt"


def _their_statements(path: Path) -> list[mt940.models.Transactions]:
    """The package's own parse, one statement (from `:20:`) at a time."""
    text = path.read_text(encoding="utf-8", errors="replace")
    parsed = []
    for chunk in re.split(r"^:20:", text, flags=re.MULTILINE)[1:]:
        transactions = mt940.models.Transactions()
        transactions.parse(":20:" + chunk)
        parsed.append(transactions)
    return parsed


def _minor(amount: Any) -> int:
    return int(amount.amount.scaleb(2))


@pytest.mark.parametrize("path", MT940_FILES, ids=lambda p: p.name)
def test_every_mt940_fixture_parses_as_the_mt940_package_reads_it(path: Path):
    ours = parse_mt940(path.read_bytes(), filename=path.name)
    theirs = _their_statements(path)

    assert len(ours) == len(theirs)
    for statement, reference in zip(ours, theirs, strict=True):
        data = reference.data
        opening = data.get("final_opening_balance") or data.get("intermediate_opening_balance")
        closing = data.get("final_closing_balance") or data.get("intermediate_closing_balance")
        assert statement.opening
        assert statement.opening.amount_minor == _minor(opening.amount)
        assert statement.opening.date == opening.date
        assert statement.closing
        assert statement.closing.amount_minor == _minor(closing.amount)
        assert statement.account_number.replace(" ", "") == data["account_identification"].replace(
            " ", ""
        )
        assert [line.amount_minor for line in statement.lines] == [
            _minor(t.data["amount"]) for t in reference
        ]
        assert [line.value_date for line in statement.lines] == [t.data["date"] for t in reference]


def test_mt940_in_a_currency_we_cannot_book_is_refused_naming_the_balance():
    path = MT940 / "cmxl" / "mt940.sta"  # Deutsche Mark
    with pytest.raises(ValidationFailed) as refused:
        parse_mt940(path.read_bytes(), filename=path.name)
    assert "mt940.sta:1/:60F:" in str(refused.value)
    assert "DEM" in str(refused.value)


def test_mt940_with_binary_noise_is_refused_naming_the_line():
    content = (MT940 / "jejik" / "generic.sta").read_bytes().splitlines(keepends=True)
    content[3] = b"\x00\x01\xff\xfe" + content[3]
    with pytest.raises(ValidationFailed) as refused:
        parse_mt940(b"".join(content), filename="noisy.sta")
    assert refused.value.fields[0].field == "noisy.sta:4"
    assert refused.value.fields[0].code == "binary_noise"


MAPPING = {
    "date": "Date",
    "amount": "Amount",
    "currency": "Currency",
    "reference": "Ref",
    "counterparty": "Payee",
    "remittance": "Details",
    "date_format": "%d/%m/%Y",
    "decimal_separator": ",",
    "delimiter": ";",
}
CSV = (
    b"Date;Amount;Currency;Ref;Payee;Details\n"
    b"01/03/2026;1.250,50;GBP;R1;Alice Ltd;invoice 7\n"
    b"02/03/2026;-10,00;GBP;R2;Bank;fee\n"
)


def test_csv_with_a_mapping_parses_comma_decimals_and_signs():
    (statement,) = parse_csv(CSV, filename="march.csv", mapping=MAPPING)

    assert [(line.amount_minor, line.currency) for line in statement.lines] == [
        (125050, "GBP"),
        (-1000, "GBP"),
    ]
    assert statement.lines[0].counterparty_name == "Alice Ltd"
    assert statement.lines[0].value_date == date(2026, 3, 1)
    assert statement.statement_id == "csv:2026-03-01..2026-03-02"


def test_csv_with_a_direction_column():
    mapping = {
        "date": "d",
        "amount": "a",
        "currency_code": "EUR",
        "sign": "direction_column",
        "direction_column": "t",
    }
    (statement,) = parse_csv(
        b"d,a,t\n2026-03-01,5.00,CR\n2026-03-01,2.00,DR\n", filename="x.csv", mapping=mapping
    )
    assert [line.amount_minor for line in statement.lines] == [500, -200]


def test_csv_whose_mapping_does_not_fit_is_refused_naming_the_column():
    mapping = {**MAPPING, "amount": "Betrag"}
    with pytest.raises(ValidationFailed) as refused:
        parse_csv(CSV, filename="march.csv", mapping=mapping)
    assert refused.value.fields[0].field == "march.csv:1/Betrag"
    assert refused.value.fields[0].code == "column_missing"


def test_csv_with_a_bad_amount_is_refused_naming_line_and_column():
    content = CSV.replace(b"-10,00", b"ten")
    with pytest.raises(ValidationFailed) as refused:
        parse_csv(content, filename="march.csv", mapping=MAPPING)
    assert refused.value.fields[0].field == "march.csv:3/Amount"


def test_csv_amount_with_more_decimals_than_the_currency_is_refused():
    content = CSV.replace(b"-10,00", b"-10,001")
    with pytest.raises(ValidationFailed) as refused:
        parse_csv(content, filename="march.csv", mapping=MAPPING)
    assert refused.value.fields[0].code == "too_many_decimals"
