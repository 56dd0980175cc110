"""ISO 20022 camt.053 (bank to customer statement) and camt.054 (debit/credit notification),
versions 001.02 to 001.08 and what lies between: the element paths used here did not change.

Parsed by `xmlschema`'s defused parser (`defuse="always"`: DTDs and entities forbidden, so no
billion laughs and no external entities), after our own refusal of any DTD for a clearer
reason; the tree is the standard library's ElementTree. The message
must be one of the two camt documents and carry at least one statement/notification; a
truncated or non-XML file is refused with expat's line and column.

One `ParsedLine` per `Ntry` (the booked amount); the references of its first `TxDtls` are
kept (a batch entry's other transactions are in `raw`).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from xml.etree import ElementTree as ET

import xmlschema
from xmlschema.exceptions import XMLResourceForbidden

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

_NAMESPACE = re.compile(r"^\{urn:iso:std:iso:20022:tech:xsd:(camt\.05[34])\.001\.(\d\d)\}Document$")
_OPENING_CODES = ("OPBD", "PRCD")  # opening booked; else the previous closing booked
_CLOSING_CODES = ("CLBD",)


def is_camt(content: bytes) -> bool:
    head = content[:2000]
    return b"urn:iso:std:iso:20022:tech:xsd:camt.05" in head


def _text(element: ET.Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def _date(element: ET.Element | None, *, where: str) -> date | None:
    """A camt DateAndDateTimeChoice (`Dt` or `DtTm`); a date-time is read in UTC."""
    if element is None:
        return None
    text = _text(element, "{*}Dt")
    if text:
        try:
            return date.fromisoformat(text[:10])
        except ValueError as exc:
            raise refuse(where, "invalid_date", f"{text!r} is not a date") from exc
    text = _text(element, "{*}DtTm")
    if text:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise refuse(where, "invalid_date", f"{text!r} is not a date-time") from exc
        return (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    return None


def _signed(element: ET.Element, *, where: str) -> tuple[int, str]:
    amount = element.find("{*}Amt")
    if amount is None or not (amount.text or "").strip():
        raise refuse(where, "missing_amount", "Amt is missing")
    currency = (amount.get("Ccy") or "").strip()
    minor = to_minor((amount.text or "").strip(), currency, where=f"{where}/Amt")
    indicator = _text(element, "{*}CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise refuse(where, "invalid_indicator", f"CdtDbtInd is {indicator!r}, not CRDT or DBIT")
    return (minor if indicator == "CRDT" else -minor), currency


def _account(element: ET.Element | None) -> str:
    if element is None:
        return ""
    return normalise_account(
        _text(element, "{*}Id/{*}IBAN") or _text(element, "{*}Id/{*}Othr/{*}Id")
    )


def _party_name(parties: ET.Element, role: str) -> str:
    # v2-v4: Dbtr/Nm; v8: Dbtr/Pty/Nm
    return _text(parties, f"{{*}}{role}/{{*}}Nm") or _text(parties, f"{{*}}{role}/{{*}}Pty/{{*}}Nm")


def _remittance(details: ET.Element | None) -> str:
    if details is None:
        return ""
    unstructured = [(u.text or "").strip() for u in details.findall("{*}RmtInf/{*}Ustrd")]
    if any(unstructured):
        return "\n".join(u for u in unstructured if u)
    refs = [
        (r.text or "").strip() for r in details.findall("{*}RmtInf/{*}Strd/{*}CdtrRefInf/{*}Ref")
    ]
    return "\n".join(r for r in refs if r)


def _line(entry: ET.Element, *, where: str) -> ParsedLine:
    amount_minor, currency = _signed(entry, where=where)
    details = entry.find("{*}NtryDtls/{*}TxDtls")
    counterparty_name = counterparty_account = ""
    if details is not None:
        parties = details.find("{*}RltdPties")
        if parties is not None:
            # Money in: the debtor paid us; money out: we paid the creditor.
            role = "Dbtr" if amount_minor >= 0 else "Cdtr"
            counterparty_name = _party_name(parties, role)
            counterparty_account = _account(parties.find(f"{{*}}{role}Acct"))
    return ParsedLine(
        amount_minor=amount_minor,
        currency=currency,
        value_date=_date(entry.find("{*}ValDt"), where=f"{where}/ValDt"),
        booking_date=_date(entry.find("{*}BookgDt"), where=f"{where}/BookgDt"),
        bank_reference=_text(entry, "{*}AcctSvcrRef") or _text(details, "{*}Refs/{*}AcctSvcrRef"),
        end_to_end_id=_text(details, "{*}Refs/{*}EndToEndId"),
        uetr=_text(details, "{*}Refs/{*}UETR").lower(),
        counterparty_name=counterparty_name[:300],
        counterparty_account=counterparty_account[:100],
        remittance_info=_remittance(details),
        raw=excerpt(ET.tostring(entry, encoding="unicode")),
    )


def _balance(statement: ET.Element, codes: tuple[str, ...], *, where: str) -> ParsedBalance | None:
    balances = statement.findall("{*}Bal")
    for code in codes:
        for index, balance in enumerate(balances):
            if _text(balance, "{*}Tp/{*}CdOrPrtry/{*}Cd") == code:
                amount_minor, currency = _signed(balance, where=f"{where}/Bal[{index}]")
                return ParsedBalance(
                    amount_minor, currency, _date(balance.find("{*}Dt"), where=where)
                )
    return None


def parse_camt(content: bytes, *, filename: str) -> list[ParsedStatement]:
    if len(content) > MAX_FILE_BYTES:
        raise refuse(filename, "file_too_large", f"larger than {MAX_FILE_BYTES} bytes")
    # No DTD, so no entities: refuse before expat sees one.
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise refuse(filename, "dtd_refused", "a DTD or entity declaration is not allowed")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(filename, "not_utf8", f"not UTF-8 at byte {exc.start}") from exc
    try:
        root = xmlschema.XMLResource(io.BytesIO(content), defuse="always").root
    except XMLResourceForbidden as exc:
        raise refuse(filename, "dtd_refused", str(exc)) from exc
    except (xmlschema.XMLResourceError, ET.ParseError) as exc:
        # expat's message names the line and column ("no element found: line 40, column 0").
        raise refuse(filename, "malformed_xml", f"not well-formed XML (truncated?): {exc}") from exc
    match = _NAMESPACE.match(root.tag)
    if not match:
        raise refuse(
            filename, "not_camt", f"root element {root.tag!r} is not a camt.053/054 Document"
        )
    kind, version = match.groups()
    fmt, container, record = (
        ("camt053", "BkToCstmrStmt", "Stmt")
        if kind == "camt.053"
        else ("camt054", "BkToCstmrDbtCdtNtfctn", "Ntfctn")
    )
    message = root.find(f"{{*}}{container}")
    if message is None:
        raise refuse(filename, "not_camt", f"{kind}.001.{version} without {container}")
    if message.find("{*}GrpHdr/{*}MsgId") is None:
        raise refuse(f"{filename}/{container}/GrpHdr", "missing_field", "GrpHdr/MsgId is required")
    records = message.findall(f"{{*}}{record}")
    if not records:
        raise refuse(
            f"{filename}/{container}", "missing_field", f"at least one {record} is required"
        )
    statements = []
    for index, element in enumerate(records):
        where = f"{filename}/{container}/{record}[{index}]"
        statement_id = _text(element, "{*}Id")
        if not statement_id:
            raise refuse(f"{where}/Id", "missing_field", f"{record}/Id is required")
        account = element.find("{*}Acct")
        account_number = _account(account)
        if not account_number:
            raise refuse(
                f"{where}/Acct", "missing_field", "the account's IBAN or Othr/Id is required"
            )
        statements.append(
            ParsedStatement(
                format=fmt,
                statement_id=statement_id,
                account_number=account_number,
                currency=_text(account, "{*}Ccy"),
                sequence_number=_text(element, "{*}ElctrncSeqNb") or _text(element, "{*}LglSeqNb"),
                opening=_balance(element, _OPENING_CODES, where=where),
                closing=_balance(element, _CLOSING_CODES, where=where),
                lines=[
                    _line(entry, where=f"{where}/Ntry[{n}]")
                    for n, entry in enumerate(element.findall("{*}Ntry"))
                ],
            )
        )
    return statements
