"""The payout partner's settlement report (JSON, as its API answers) in the statement shape.

One statement per report (partner account, date, currency); per payout:
- sent: a debit line (- amount), end-to-end id = our reference (the transfer's), bank
  reference = the partner's payout id;
- returned: the same debit line and a credit line (+ amount, the money back);
- failed: no line (no money moved);
- a fee, when the partner charged one: a debit line of the fee, end-to-end id FEE-<reference>.
"""

from __future__ import annotations

import functools
import json
from datetime import date, datetime
from typing import Any

from integrations.reconciliation.parsers.base import (
    ParsedLine,
    ParsedStatement,
    excerpt,
    normalise_account,
    refuse,
    to_minor,
)


def is_partner_report(content: bytes) -> bool:
    return content.lstrip()[:1] == b"{" and b'"settlement"' in content[:200]


def _text(row: dict[str, Any], name: str, where: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        raise refuse(f"{where}/{name}", "required", f"{name} must be a non-empty string")
    return value.strip()


def parse_partner_report(content: bytes, *, filename: str) -> list[ParsedStatement]:
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise refuse(filename, "invalid_json", f"not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("report") != "settlement":
        raise refuse(filename, "unknown_format", "not a settlement report")
    day_text = _text(data, "date", filename)
    try:
        day = date.fromisoformat(day_text)
    except ValueError as exc:
        raise refuse(f"{filename}/date", "invalid_date", f"{day_text!r} is not a date") from exc
    currency = _text(data, "currency", filename).upper()
    account = normalise_account(_text(data, "account", filename))
    payouts = data.get("payouts")
    if not isinstance(payouts, list):
        raise refuse(f"{filename}/payouts", "required", "payouts must be a list")
    lines: list[ParsedLine] = []
    for index, row in enumerate(payouts):
        where = f"{filename}/payouts[{index}]"
        if not isinstance(row, dict):
            raise refuse(where, "invalid_row", "each payout must be an object")
        status = _text(row, "status", where)
        reference = _text(row, "client_reference", where)
        payout_id = _text(row, "payout_id", where)
        row_currency = _text(row, "currency", where).upper()
        amount = to_minor(_text(row, "amount", where), row_currency, where=f"{where}/amount")
        fee = to_minor(str(row.get("fee") or "0"), row_currency, where=f"{where}/fee")
        settled = row.get("settled_at")
        try:
            value_date = datetime.fromisoformat(settled).date() if settled else day
        except (TypeError, ValueError) as exc:
            raise refuse(f"{where}/settled_at", "invalid_date", f"{settled!r}") from exc
        line = functools.partial(
            ParsedLine, currency=row_currency, value_date=value_date, booking_date=day,
            raw=excerpt(json.dumps(row, sort_keys=True)),
        )  # fmt: skip

        if status not in ("sent", "returned", "failed"):
            raise refuse(f"{where}/status", "unknown_status", f"{status!r}")
        if status in ("sent", "returned"):
            lines.append(line(-amount, end_to_end_id=reference, bank_reference=payout_id,
                              remittance_info=f"payout {payout_id} sent"))  # fmt: skip
        if status == "returned":
            lines.append(line(amount, end_to_end_id=f"RETURN-{reference}",
                              bank_reference=f"{payout_id}-R",
                              remittance_info=f"payout {payout_id} returned"))  # fmt: skip
        if fee:
            lines.append(line(-fee, end_to_end_id=f"FEE-{reference}",
                              bank_reference=f"{payout_id}-F",
                              remittance_info=f"fee for payout {payout_id}"))  # fmt: skip
    return [
        ParsedStatement(
            format="partner",
            statement_id=f"settlement-{account}-{day.isoformat()}",
            account_number=account,
            currency=currency,
            lines=lines,
        )
    ]
