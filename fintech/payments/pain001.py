"""ISO 20022 pain.001 in (customer credit transfer initiation, versions 001.03 and 001.09),
pain.002 out (customer payment status report, 001.03).

Reading a file, in constant memory in its size (no tree, no list of payments):
1. xmlschema validates it against the version's XSD (the one its namespace names), lazily
   (streamed) and defused (`defuse="always"`: no DTD, no entities, no external resources).
   Malformed XML, another namespace or version, or a schema error refuse the whole file with
   the parser's or validator's own reason.
2. Only then ElementTree's iterparse reads the payments, clearing each transaction once read.
   (Safe: step 1 proved the bytes carry no DTD or entity declarations.)
3. NbOfTxs and CtrlSum are checked, for the group header and each PmtInf.
`pain001_check` does all three at upload and keeps only the header and the count;
`pain001_payments` then reads the payments again, as a stream from any file object (the
stored file, in windows), skipping those already taken: how a background intake resumes.

Each payment becomes a PaymentRequestInput; its ERP payment id is the EndToEndId, the vendor
is the creditor's id (Cdtr/Id/OrgId/Othr/Id, your ERP's vendor id) or else the vendor whose
account is the creditor's IBAN.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import IO

import xmlschema

NAMESPACES = {
    "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03": "pain.001.001.03",
    "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09": "pain.001.001.09",
}
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
PAIN002_NS = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"


class FileRefused(Exception):
    """The whole file is refused; `code` is the ISO external status reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Pain001Payment:
    pmt_inf_id: str
    end_to_end_id: str
    instr_id: str
    amount: str
    currency: str
    execution_date: dt.date | None
    creditor_name: str
    creditor_id: str
    creditor_iban: str
    creditor_bic: str
    remittance: str
    bill_reference: str


@dataclass
class Pain001File:
    version: str
    message_id: str
    checksum: str
    number_of_transactions: int
    control_sum: Decimal | None
    debtor_currency: str = ""
    payment_count: int = 0


@cache
def _schema(version: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA_DIR / f"{version}.xsd"))


# Document/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf: validated one transaction at a time, each
# dropped once checked. At the default depth (1) a PmtInf is validated as one subtree, and an
# ERP puts thousands of payments in one PmtInf: memory grew with the file (14 MB at 3,000
# payments, 2.5 MB at this depth), for about twice the validation time.
LAZY_DEPTH = 3


def _resource(data: bytes) -> xmlschema.XMLResource:
    return xmlschema.XMLResource(io.BytesIO(data), lazy=LAZY_DEPTH, defuse="always", allow="none")


def _validate(data: bytes) -> str:
    """The file's version, once it is well-formed and valid; else FileRefused (FF01)."""
    try:
        namespace = _resource(data).namespace
    except Exception as exc:  # malformed XML, a DTD or entity (defused): the parser's reason
        raise FileRefused("FF01", f"not well-formed or unsafe XML: {exc}") from None
    version = NAMESPACES.get(namespace)
    if version is None:
        raise FileRefused(
            "FF01",
            f"namespace {namespace!r} is not pain.001.001.03 or pain.001.001.09",
        )
    try:
        error = next(_schema(version).iter_errors(_resource(data)), None)
    except Exception as exc:
        raise FileRefused("FF01", f"not well-formed or unsafe XML: {exc}") from None
    if error is not None:
        path = error.path or ""
        raise FileRefused("FF01", f"schema {version}: {error.reason} (at {path})")
    return version


def _text(element: ET.Element | None, path: str, ns: dict[str, str]) -> str:
    if element is None:
        return ""
    found = element.find(path, ns)
    return (found.text or "").strip() if found is not None and found.text else ""


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _payments(source: IO[bytes], version: str, parsed: Pain001File) -> Iterator[Pain001Payment]:
    """Stream the payments; the group header and PmtInf totals are checked as they close."""
    ns = {"p": next(k for k, v in NAMESPACES.items() if v == version)}
    tag = "{" + ns["p"] + "}"
    pmt: dict[str, str] = {}
    pmt_element: ET.Element | None = None
    in_pmt_count = 0
    in_pmt_sum = Decimal(0)
    for event, element in ET.iterparse(source, events=("start", "end")):  # noqa: S314
        if event == "start":
            if element.tag == f"{tag}PmtInf":
                pmt, in_pmt_count, in_pmt_sum = {}, 0, Decimal(0)
                pmt_element = element
            continue
        name = element.tag.removeprefix(tag)
        if name == "GrpHdr":
            parsed.message_id = _text(element, "p:MsgId", ns)
            parsed.number_of_transactions = int(_text(element, "p:NbOfTxs", ns) or 0)
            parsed.control_sum = _decimal(_text(element, "p:CtrlSum", ns))
            element.clear()
        elif name == "PmtInfId":
            pmt["id"] = (element.text or "").strip()
        elif name == "ReqdExctnDt":
            pmt["date"] = _text(element, "p:Dt", ns) or (element.text or "").strip()
        elif name == "NbOfTxs" and pmt is not None and "id" in pmt:
            pmt["count"] = (element.text or "").strip()
        elif name == "CtrlSum" and "id" in pmt:
            pmt["sum"] = (element.text or "").strip()
        elif name == "DbtrAcct":
            parsed.debtor_currency = parsed.debtor_currency or _text(element, "p:Ccy", ns)
        elif name == "CdtTrfTxInf":
            amount = element.find("p:Amt/p:InstdAmt", ns)
            amount_text = (amount.text or "").strip() if amount is not None else ""
            in_pmt_count += 1
            in_pmt_sum += _decimal(amount_text) or Decimal(0)
            yield Pain001Payment(
                pmt_inf_id=pmt.get("id", ""),
                end_to_end_id=_text(element, "p:PmtId/p:EndToEndId", ns),
                instr_id=_text(element, "p:PmtId/p:InstrId", ns),
                amount=amount_text,
                currency=amount.get("Ccy", "") if amount is not None else "",
                execution_date=_date(pmt.get("date", "")),
                creditor_name=_text(element, "p:Cdtr/p:Nm", ns),
                creditor_id=_text(element, "p:Cdtr/p:Id/p:OrgId/p:Othr/p:Id", ns),
                creditor_iban=_text(element, "p:CdtrAcct/p:Id/p:IBAN", ns),
                creditor_bic=_text(element, "p:CdtrAgt/p:FinInstnId/p:BICFI", ns)
                or _text(element, "p:CdtrAgt/p:FinInstnId/p:BIC", ns),
                remittance=_text(element, "p:RmtInf/p:Ustrd", ns),
                bill_reference=_text(element, "p:RmtInf/p:Strd/p:RfrdDocInf/p:Nb", ns)
                or _text(element, "p:RmtInf/p:Ustrd", ns),
            )
            # Constant memory: a read transaction is emptied and taken off its PmtInf (an
            # empty element left there would still cost its bytes per payment).
            element.clear()
            if pmt_element is not None:
                pmt_element.remove(element)
        elif name == "PmtInf":
            if "count" in pmt and int(pmt["count"]) != in_pmt_count:
                raise FileRefused(
                    "AM18",
                    f"PmtInf {pmt.get('id')}: NbOfTxs says {pmt['count']}, it holds {in_pmt_count}",
                )
            if "sum" in pmt and Decimal(pmt["sum"]) != in_pmt_sum:
                raise FileRefused(
                    "AM10",
                    f"PmtInf {pmt.get('id')}: CtrlSum says {pmt['sum']}, its amounts add up "
                    f"to {in_pmt_sum}",
                )
            element.clear()


def pain001_check(data: bytes) -> Pain001File:
    """Validate a pain.001 file and check its totals, keeping only its header and payment
    count (memory does not grow with the payments); FileRefused with an ISO reason code if it
    cannot be taken at all (payments are checked one by one later, each with its reasons)."""
    if not data.strip():
        raise FileRefused("FF01", "the file is empty")
    version = _validate(data)
    # The validator's lazy resource leaves reference cycles holding the elements it pruned
    # (about 130 bytes a payment) that the cyclic collector frees only at a full pass, which
    # may be far off: freed here, so what validating leaves behind does not grow with the file.
    gc.collect()
    parsed = Pain001File(
        version=version,
        message_id="",
        checksum=hashlib.sha256(data).hexdigest(),
        number_of_transactions=0,
        control_sum=None,
    )
    total = Decimal(0)
    for payment in _payments(io.BytesIO(data), version, parsed):
        parsed.payment_count += 1
        total += _decimal(payment.amount) or Decimal(0)
    if parsed.number_of_transactions != parsed.payment_count:
        raise FileRefused(
            "AM18",
            f"GrpHdr NbOfTxs says {parsed.number_of_transactions}, the file holds "
            f"{parsed.payment_count} payments",
        )
    if parsed.control_sum is not None and parsed.control_sum != total:
        raise FileRefused(
            "AM10", f"GrpHdr CtrlSum says {parsed.control_sum}, the amounts add up to {total}"
        )
    return parsed


def pain001_payments(source: IO[bytes], *, version: str, skip: int = 0) -> Iterator[Pain001Payment]:
    """The payments of a file `pain001_check` accepted, in file order, one at a time, the
    first `skip` passed over (read, not kept: resuming costs a re-read, no memory)."""
    scratch = Pain001File(version, "", "", 0, None)
    for index, payment in enumerate(_payments(source, version, scratch)):
        if index >= skip:
            yield payment


# ---------------------------------------------------------------------------------------------
# pain.002 out

# Our reasons -> ISO 20022 external status reason codes.
ISO_REASONS = {
    "unknown_vendor": "AC01",
    "unknown_beneficiary": "AC01",
    "vendor_inactive": "AC04",
    "beneficiary_inactive": "AC04",
    "invalid_checksum": "AC01",
    "amount_not_positive": "AM01",
    "too_many_decimals": "AM02",
    "amount_too_large": "AM02",
    "amount_above_limit": "AM02",
    "unsupported_currency": "AM03",
    "currency_mismatch": "AM03",
    "currency_pair_unsupported": "AM03",
    "due_date_out_of_range": "DT01",
    "duplicate_erp_payment_id": "AM05",
    "possible_duplicate": "AM05",
    "profile_not_verified": "RR04",
    "screening_hit": "RR04",
    "rejected_by_approver": "AG01",
    "approval_expired": "AG01",
    "rejected_by_operator": "AG01",
}

# Request states -> ISO transaction status.
TX_STATUS = {
    "received": "PDNG",
    "held": "PDNG",
    "validated": "ACTC",
    "awaiting_approval": "PDNG",
    "quoted": "ACCP",
    "transfer_created": "ACCP",
    "funded": "ACSP",
    "processing": "ACSP",
    "completed": "ACSC",
    "failed": "RJCT",
    "rejected": "RJCT",
    "cancelled": "RJCT",
    "expired": "RJCT",
}


def iso_code(code: str) -> str:
    return ISO_REASONS.get(code, "NARR")


@dataclass
class TxStatus:
    pmt_inf_id: str
    end_to_end_id: str
    status: str
    reasons: list[tuple[str, str]]  # (ISO code, text)


def _sub(parent: ET.Element, name: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, name)
    if text is not None:
        child.text = text
    return child


def pain002_build(
    *,
    message_id: str,
    original_message_id: str,
    original_version: str,
    original_count: int,
    group_status: str,
    group_reason: tuple[str, str] | None,
    transactions: list[TxStatus],
) -> bytes:
    """A pain.002.001.03 status report: the group's status and one TxInfAndSts per payment."""
    ET.register_namespace("", PAIN002_NS)
    root = ET.Element(f"{{{PAIN002_NS}}}Document")
    report = _sub(root, f"{{{PAIN002_NS}}}CstmrPmtStsRpt")
    q = f"{{{PAIN002_NS}}}"
    header = _sub(report, f"{q}GrpHdr")
    _sub(header, f"{q}MsgId", message_id[:35])
    _sub(header, f"{q}CreDtTm", dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat())
    group = _sub(report, f"{q}OrgnlGrpInfAndSts")
    _sub(group, f"{q}OrgnlMsgId", original_message_id[:35] or "UNKNOWN")
    _sub(group, f"{q}OrgnlMsgNmId", original_version or "pain.001")
    _sub(group, f"{q}OrgnlNbOfTxs", str(original_count))
    _sub(group, f"{q}GrpSts", group_status)
    if group_reason is not None:
        info = _sub(group, f"{q}StsRsnInf")
        _sub(_sub(info, f"{q}Rsn"), f"{q}Cd", group_reason[0])
        _sub(info, f"{q}AddtlInf", group_reason[1][:105])
    by_pmt: dict[str, list[TxStatus]] = {}
    for tx in transactions:
        by_pmt.setdefault(tx.pmt_inf_id, []).append(tx)
    for pmt_inf_id, txs in by_pmt.items():
        pmt = _sub(report, f"{q}OrgnlPmtInfAndSts")
        _sub(pmt, f"{q}OrgnlPmtInfId", pmt_inf_id[:35] or "UNKNOWN")
        for tx in txs:
            entry = _sub(pmt, f"{q}TxInfAndSts")
            _sub(entry, f"{q}OrgnlEndToEndId", tx.end_to_end_id[:35])
            _sub(entry, f"{q}TxSts", tx.status)
            for code, text in tx.reasons:
                info = _sub(entry, f"{q}StsRsnInf")
                _sub(_sub(info, f"{q}Rsn"), f"{q}Cd", code)
                if text:
                    _sub(info, f"{q}AddtlInf", text[:105])
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
