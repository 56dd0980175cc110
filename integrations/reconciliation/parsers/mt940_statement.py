"""SWIFT MT940 customer statements, parsed by the `mt-940` package.

A file may hold several statements (each from `:20:` to its `:62F:`/`:62M:`); each is parsed on
its own so every statement keeps its own number and balances. Binary noise (control
characters, bytes that are neither UTF-8 nor Latin-1 text) is refused naming the line: MT940
is a text format and the package would otherwise skip what it does not understand.
"""

from __future__ import annotations

import re
from typing import Any

import mt940

from integrations.reconciliation.parsers.base import (
    MAX_FILE_BYTES,
    ParsedBalance,
    ParsedLine,
    ParsedStatement,
    excerpt,
    normalise_account,
    refuse,
    to_minor,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_STATEMENT_START = re.compile(r"^:20:", re.MULTILINE)
_NO_REFERENCE = {"NONREF", ""}


def is_mt940(content: bytes) -> bool:
    return b":20:" in content[:4000] and (
        b":60F:" in content or b":60M:" in content or b":61:" in content
    )


def _text(content: bytes, *, filename: str) -> str:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = content.decode("latin-1")  # many banks still send ISO 8859-1
    for number, line in enumerate(text.splitlines(), start=1):
        bad = _CONTROL.search(line)
        if bad:
            raise refuse(
                f"{filename}:{number}",
                "binary_noise",
                f"control character {bad.group()!r} at column {bad.start() + 1}: "
                "not an MT940 text file",
            )
    return text


def _balance(balance: Any, *, where: str) -> ParsedBalance | None:
    if balance is None:
        return None
    currency = balance.amount.currency
    return ParsedBalance(
        to_minor(balance.amount.amount, currency, where=where), currency, balance.date
    )


def _reference(value: Any) -> str:
    text = (value or "").strip()
    return "" if text.upper() in _NO_REFERENCE else text


def _statement(chunk: str, first_line: int, *, filename: str) -> ParsedStatement:
    where = f"{filename}:{first_line}"
    transactions = mt940.models.Transactions()
    try:
        transactions.parse(chunk)
    except Exception as exc:  # the package raises plain exceptions on malformed tags
        raise refuse(where, "malformed_mt940", f"{type(exc).__name__}: {exc}") from exc
    data = transactions.data
    # A statement split over several messages has intermediate balances (:60M:/:62M:).
    opening = _balance(
        data.get("final_opening_balance") or data.get("intermediate_opening_balance"),
        where=f"{where}/:60F:",
    )
    closing = _balance(
        data.get("final_closing_balance") or data.get("intermediate_closing_balance"),
        where=f"{where}/:62F:",
    )
    known = opening or closing
    currency = known.currency if known is not None else ""
    lines = []
    for index, transaction in enumerate(transactions):
        tx = transaction.data
        amount = tx.get("amount")
        line_currency = (amount.currency if amount is not None else None) or currency
        if amount is None or not line_currency:
            raise refuse(f"{where}/:61:[{index}]", "missing_amount", "no amount or currency")
        details = (tx.get("transaction_details") or "").strip()
        lines.append(
            ParsedLine(
                amount_minor=to_minor(amount.amount, line_currency, where=f"{where}/:61:[{index}]"),
                currency=line_currency,
                value_date=tx.get("date"),
                booking_date=tx.get("entry_date") or tx.get("date"),
                bank_reference=_reference(tx.get("bank_reference")),
                # :61: subfield 7 is the account owner's reference: for an outgoing SEPA
                # payment banks put the end-to-end id there (or as /EREF/ in :86:).
                end_to_end_id=_eref(details) or _reference(tx.get("customer_reference")),
                remittance_info=details,
                raw=excerpt(str({k: str(v) for k, v in tx.items()})),
            )
        )
    statement_number = str(data.get("statement_number") or "").strip()
    sequence = str(data.get("sequence_number") or "").strip()
    reference = str(data.get("transaction_reference") or "").strip()
    return ParsedStatement(
        format="mt940",
        # :28C: statement/sequence identifies the statement; :20: is only the message's.
        statement_id="/".join(p for p in (statement_number, sequence) if p) or reference,
        account_number=normalise_account(str(data.get("account_identification") or "")),
        currency=currency,
        sequence_number=statement_number,
        opening=opening,
        closing=closing,
        lines=lines,
    )


_EREF = re.compile(r"/EREF/([^/\n]+)")


def _eref(details: str) -> str:
    found = _EREF.search(details.replace("\n", ""))
    value = found.group(1).strip() if found else ""
    return "" if value.upper() in _NO_REFERENCE else value


def parse_mt940(content: bytes, *, filename: str) -> list[ParsedStatement]:
    if len(content) > MAX_FILE_BYTES:
        raise refuse(filename, "file_too_large", f"larger than {MAX_FILE_BYTES} bytes")
    text = _text(content, filename=filename)
    starts = [m.start() for m in _STATEMENT_START.finditer(text)]
    if not starts:
        raise refuse(filename, "not_mt940", "no :20: statement found")
    statements = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        first_line = text.count("\n", 0, start) + 1
        statements.append(_statement(text[start:end], first_line, filename=filename))
    return statements
