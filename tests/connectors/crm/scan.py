"""The data-minimisation scan: which of a record's sensitive values appear in a body."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from integrations.connectors.crm.records import ProfileRecord
from ledger.currency import currency_exponent


def sensitive_values(record: ProfileRecord) -> list[str]:
    """Every value that must never reach the CRM: addresses, registration numbers, the
    profile's own email, bank details, beneficiary names, single amounts, free-text reasons,
    dates of birth, document numbers, whatever else we hold on people."""
    values = [
        record.registration_number,
        record.email,
        record.address_line1,
        record.address_line2,
        record.city,
        record.postal_code,
        record.kyc_review_reason,
        *(str(v) for v in record.other.values()),
    ]
    for member in record.members:
        values.extend(str(v) for v in member.other.values())
    for t in record.transfers:
        values.extend([t.beneficiary_name, t.customer_transaction_id, t.failure_reason])
        values.extend(str(v) for v in t.beneficiary_details.values())
        for minor, currency in (
            (t.source_amount_minor, t.source_currency),
            (t.target_amount_minor, t.target_currency),
            (t.fee_minor, t.source_currency),
        ):
            values.append(str(minor))
            values.append(str(Decimal(minor).scaleb(-currency_exponent(currency))))
    return [v for v in values if v and len(v) >= 4]


def leaks(record: ProfileRecord, bodies: list[Any]) -> list[str]:
    text = "\n".join(b if isinstance(b, str) else json.dumps(b) for b in bodies)
    found = []
    for value in sensitive_values(record):
        # Numbers as whole tokens (a timestamp or an id may contain the digits of an amount).
        pattern = (
            rf"(?<![\d.]){re.escape(value)}(?![\d])"
            if re.fullmatch(r"[\d.]+", value)
            else re.escape(value)
        )
        if re.search(pattern, text):
            found.append(value)
    return found
