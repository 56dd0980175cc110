"""CSV statements with a column mapping saved per bank account (`BankAccount.csv_mapping`).

The mapping (JSON):
    {"date": "Date", "amount": "Amount", "currency": "Currency",          # required columns
     "value_date": "Value date", "reference": "Ref", "end_to_end_id": "E2E",
     "counterparty": "Payee", "counterparty_account": "IBAN",
     "remittance": "Description",                                      # optional columns
     "date_format": "%Y-%m-%d", "decimal_separator": ".", "delimiter": ",",
     "sign": "signed" | "debit_negative_column",  "direction_column": "Type",
     "credit_values": ["CR", "C"], "statement_id": "optional fixed prefix"}
`sign`: "signed" (default) reads the amount's own sign; "direction_column" reads a positive
amount and takes money in/out from `direction_column` (a value in `credit_values` is money
in, anything else money out). `currency` may instead be a fixed `"currency_code": "GBP"`.

CSV has no balances and no statement id: the statement id is "csv:<first date>..<last date>"
(the file's checksum tells two files of the same dates apart); continuity checks do not apply.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.reconciliation.parsers.base import (
    MAX_FILE_BYTES,
    ParsedLine,
    ParsedStatement,
    excerpt,
    refuse,
    to_minor,
)

REQUIRED = ("date", "amount")
OPTIONAL = (
    "value_date", "reference", "end_to_end_id", "uetr", "counterparty",
    "counterparty_account", "remittance", "currency", "direction_column",
)  # fmt: skip


def _mapping_checked(mapping: Any, *, filename: str) -> dict[str, Any]:
    if not isinstance(mapping, dict):
        raise refuse(f"{filename}/mapping", "no_mapping", "this bank account has no CSV mapping")
    for key in REQUIRED:
        if not isinstance(mapping.get(key), str) or not mapping[key]:
            raise refuse(f"{filename}/mapping.{key}", "missing_field", f"the mapping needs {key!r}")
    if not mapping.get("currency") and not mapping.get("currency_code"):
        raise refuse(
            f"{filename}/mapping.currency",
            "missing_field",
            "map a currency column or set currency_code",
        )
    if mapping.get("sign", "signed") not in ("signed", "direction_column"):
        raise refuse(
            f"{filename}/mapping.sign", "invalid", "sign is 'signed' or 'direction_column'"
        )
    if mapping.get("sign") == "direction_column" and not mapping.get("direction_column"):
        raise refuse(
            f"{filename}/mapping.direction_column",
            "missing_field",
            "needed for sign=direction_column",
        )
    return mapping


def _date(text: str, fmt: str, *, where: str) -> date:
    try:
        return datetime.strptime(text.strip(), fmt).date()  # noqa: DTZ007 - a date, no time
    except ValueError as exc:
        raise refuse(where, "invalid_date", f"{text!r} does not match {fmt}") from exc


def parse_csv(content: bytes, *, filename: str, mapping: Any) -> list[ParsedStatement]:
    mapping = _mapping_checked(mapping, filename=filename)
    if len(content) > MAX_FILE_BYTES:
        raise refuse(filename, "file_too_large", f"larger than {MAX_FILE_BYTES} bytes")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse(filename, "not_utf8", f"not UTF-8 at byte {exc.start}") from exc
    if "\x00" in text:
        raise refuse(filename, "binary_noise", "a NUL byte: not a CSV text file")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=mapping.get("delimiter", ","))
    header = reader.fieldnames or []
    for key in (*REQUIRED, *OPTIONAL):
        column = mapping.get(key)
        if column and column not in header:
            raise refuse(
                f"{filename}:1/{column}",
                "column_missing",
                f"the mapping's {key} column {column!r} is not in the header {header}",
            )
    date_format = mapping.get("date_format", "%Y-%m-%d")
    separator = mapping.get("decimal_separator", ".")
    credit_values = {
        str(v).strip().upper() for v in mapping.get("credit_values", ["C", "CR", "CRDT", "CREDIT"])
    }
    lines = []
    for number, row in enumerate(reader, start=2):
        where = f"{filename}:{number}"

        def cell(key: str, row: dict[str, Any] = row) -> str:
            column = mapping.get(key)
            return (row.get(column) or "").strip() if column else ""

        if not any((v or "").strip() for v in row.values()):
            continue  # a blank line
        currency = cell("currency") or mapping.get("currency_code", "")
        amount_text = cell("amount").replace(" ", "")
        if separator == ",":
            amount_text = amount_text.replace(".", "").replace(",", ".")
        else:
            amount_text = amount_text.replace(",", "")
        try:
            amount = Decimal(amount_text)
        except InvalidOperation as exc:
            raise refuse(
                f"{where}/{mapping['amount']}",
                "invalid_amount",
                f"{cell('amount')!r} is not an amount",
            ) from exc
        minor = to_minor(amount, currency, where=f"{where}/{mapping['amount']}")
        if mapping.get("sign") == "direction_column":
            minor = abs(minor) if cell("direction_column").upper() in credit_values else -abs(minor)
        booking = _date(cell("date"), date_format, where=f"{where}/{mapping['date']}")
        value = (
            _date(cell("value_date"), date_format, where=f"{where}/{mapping['value_date']}")
            if cell("value_date")
            else booking
        )
        lines.append(
            ParsedLine(
                amount_minor=minor,
                currency=currency,
                value_date=value,
                booking_date=booking,
                bank_reference=cell("reference"),
                end_to_end_id=cell("end_to_end_id"),
                uetr=cell("uetr").lower(),
                counterparty_name=cell("counterparty")[:300],
                counterparty_account=cell("counterparty_account")[:100],
                remittance_info=cell("remittance"),
                raw=excerpt(",".join(f"{k}={v}" for k, v in row.items())),
            )
        )
    if not lines:
        raise refuse(filename, "empty", "no statement lines")
    dates = sorted(line.booking_date for line in lines if line.booking_date)
    return [
        ParsedStatement(
            format="csv",
            statement_id=f"csv:{dates[0]}..{dates[-1]}" if dates else "csv",
            account_number="",  # the file does not say; the chosen bank account is trusted
            currency=mapping.get("currency_code", "") or lines[0].currency,
            lines=lines,
        )
    ]
