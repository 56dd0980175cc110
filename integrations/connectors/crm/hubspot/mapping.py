"""Our profile records -> HubSpot CRM v3 bodies. Pure, table-driven, no I/O.

Data minimisation is enforced here, not by convention: each object (company, contact, note)
has an allowlist, `ALLOWLISTS`, of the properties it may carry and, for each, the only kind of
value it may hold (`Value`: one of fixed options, a code, a count, a link to our console, or
the few free-text fields the CRM needs: the business's name, a member's name and work email).
`allowlisted` is the single exit of every property: a name off the list, or a value of the
wrong kind, raises instead of being sent. No amount of a single transfer, no counterparty, no
bank detail, address, date of birth or document ever has a property to ride in.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from integrations.connectors.crm.records import MemberRecord, ProfileRecord, TransferRecord
from integrations.errors import PermanentError
from ledger.currency import currency_exponent

Body = dict[str, Any]
GROUP = "fintech"
REFERENCE = "fintech_profile_ref"

STAGES = ("lead", "signed_up", "verification_submitted", "verified", "active", "dormant")
KYC_LABELS = ("not_started", "submitted", "under_review", "verified", "rejected")
_CODE = re.compile(r"^[a-z0-9_]{1,40}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_CURRENCIES = re.compile(r"^([A-Z]{3})(;[A-Z]{3})*$")
_REFERENCE = re.compile(r"^PRF-\d{1,18}$")
_OWNER = re.compile(r"^\d{1,20}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")


class MappingError(PermanentError):
    """The record cannot be said in the CRM's terms as it is."""


class FieldNotAllowed(MappingError):
    """A property off its object's allowlist, or a value of the wrong kind for it."""


@dataclass(frozen=True)
class Rules:
    """The lifecycle rules (settings CRM_*): volume bands on the trailing window, tiers."""

    window_days: int = 90
    dormant_days: int = 90
    band_edges: tuple[int, ...] = (10_000, 100_000, 1_000_000)  # major units, per currency
    tiers: tuple[str, ...] = ("starter", "growth", "scale", "enterprise")  # one per band
    high_value_band: int = 2  # bands from this index up are high value

    def bands(self) -> tuple[str, ...]:
        def short(n: int) -> str:
            for size, suffix in ((1_000_000, "m"), (1_000, "k")):
                if n >= size and n % size == 0:
                    return f"{n // size}{suffix}"
            return str(n)

        edges = self.band_edges
        middle = tuple(f"{short(a)}_{short(b)}" for a, b in itertools.pairwise(edges))
        return (f"under_{short(edges[0])}", *middle, f"{short(edges[-1])}_plus")


@dataclass(frozen=True)
class Value:
    """What a property may hold: `options` (one of), or a `pattern`, or free `text` (up to
    `max_length`), or a console `link`."""

    options: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    text: bool = False
    link: bool = False
    max_length: int = 200

    def accepts(self, value: str, *, console: str) -> bool:
        if len(value) > self.max_length:
            return False
        if self.options:
            return value in self.options
        if self.pattern is not None:
            return bool(self.pattern.match(value))
        if self.link:
            return value.startswith(console.rstrip("/") + "/")
        return self.text


def allowlists(rules: Rules) -> dict[str, dict[str, Value]]:
    """Object -> property -> the kind of value it may hold. Shown to operators (admin)."""
    bands = rules.bands()
    return {
        "company": {
            "name": Value(text=True),
            REFERENCE: Value(pattern=_REFERENCE),
            "fintech_onboarding_stage": Value(options=STAGES),
            "fintech_kyc_status": Value(options=KYC_LABELS),
            "fintech_account_tier": Value(options=rules.tiers),
            "fintech_high_value": Value(options=("true", "false")),
            "fintech_volume_band_90d": Value(options=bands),
            "fintech_activity_month": Value(pattern=_MONTH),
            "fintech_activity_count": Value(pattern=re.compile(r"^\d{1,6}$")),
            "fintech_activity_band": Value(options=bands),
            "fintech_currencies": Value(pattern=_CURRENCIES, max_length=200),
            "fintech_last_failed_reason": Value(pattern=_CODE),
            "fintech_console_link": Value(link=True, max_length=500),
            "hubspot_owner_id": Value(pattern=_OWNER),
        },
        "contact": {
            "firstname": Value(text=True, max_length=150),
            "lastname": Value(text=True, max_length=150),
            "email": Value(pattern=_EMAIL, max_length=254),
        },
        "note": {
            "hs_note_body": Value(
                pattern=re.compile(r"^[A-Za-z0-9 _:.,;()\-/\[\]<>=\"'?&]+$"), max_length=2000
            ),
            "hs_timestamp": Value(pattern=re.compile(r"^\d{13}$")),
        },
    }


def describe(value: Value) -> str:
    """What a property may hold, in words."""
    if value.options:
        return "one of: " + ", ".join(value.options)
    if value.link:
        return "a link to our console"
    if value.pattern is not None:
        return f"text matching {value.pattern.pattern}"
    return f"free text (at most {value.max_length} characters)"


def allowlisted(
    kind: str, properties: Mapping[str, str], *, rules: Rules, console: str
) -> dict[str, str]:
    """The single exit: every property on `kind`'s allowlist with a value of its kind."""
    allowed = allowlists(rules)[kind]
    extra = sorted(set(properties) - set(allowed))
    if extra:
        raise FieldNotAllowed(f"{kind}: {', '.join(extra)} not on the allowlist")
    checked: dict[str, str] = {}
    for name, spec in allowed.items():
        if name not in properties:
            continue
        value = properties[name]
        if not isinstance(value, str):
            raise FieldNotAllowed(f"{kind}.{name}: a {type(value).__name__} is not sent")
        if not spec.accepts(value, console=console):
            raise FieldNotAllowed(f"{kind}.{name}: {value[:40]!r} is not a value it may hold")
        checked[name] = value
    return checked


# --- the rules ----------------------------------------------------------------------------


def kyc_label(record: ProfileRecord) -> str:
    if record.kyc_review_required and record.kyc_state != "rejected":
        return "under_review"
    return {
        "unverified": "not_started",
        "pending": "submitted",
        "verified": "verified",
        "rejected": "rejected",
    }.get(record.kyc_state, "not_started")


def _completed(record: ProfileRecord, since: dt.datetime) -> list[TransferRecord]:
    return [
        t
        for t in record.transfers
        if t.state in ("completed", "refunded") and t.completed_at and t.completed_at >= since
    ]


def onboarding_stage(record: ProfileRecord, *, now: dt.datetime, rules: Rules) -> str:
    """lead -> signed_up -> verification_submitted -> verified -> active -> dormant."""
    if record.kyc_state == "verified":
        if _completed(record, now - dt.timedelta(days=rules.dormant_days)):
            return "active"
        if any(t.completed_at for t in record.transfers):
            return "dormant"
        return "verified"
    if record.kyc_state in ("pending", "rejected"):
        return "verification_submitted"
    return "signed_up" if record.members else "lead"


def band_of(totals_minor: Mapping[str, int], *, rules: Rules) -> int:
    """The highest band any one currency's total reaches (edges in major units)."""
    index = 0
    for currency, minor in totals_minor.items():
        major = Decimal(minor).scaleb(-currency_exponent(currency))
        reached = sum(1 for edge in rules.band_edges if major >= edge)
        index = max(index, reached)
    return index


def _totals(transfers: list[TransferRecord]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for t in transfers:
        totals[t.source_currency] = totals.get(t.source_currency, 0) + t.source_amount_minor
    return totals


def reason_code(failure_reason: str) -> str:
    """A failed transfer's reason as a code, never its free text (it may name people):
    "payout partner: <code>: <message>" gives <code>; anything else is `other`."""
    match = re.match(r"^payout partner: ([a-z0-9_]{1,40}):", failure_reason or "")
    return match.group(1) if match else "other"


def last_failed(record: ProfileRecord) -> TransferRecord | None:
    failed = [t for t in record.transfers if t.state == "failed" and t.failed_at]
    return max(failed, key=lambda t: (t.failed_at, t.transfer_id)) if failed else None


def company_properties(
    record: ProfileRecord, *, now: dt.datetime, rules: Rules, console: str, owner_id: str = ""
) -> dict[str, str]:
    """The company's properties, every one through the allowlist."""
    bands = rules.bands()
    window = _completed(record, now - dt.timedelta(days=rules.window_days))
    band = band_of(_totals(window), rules=rules)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month = _completed(record, month_start)
    currencies = sorted({c for t in month for c in (t.source_currency, t.target_currency)})
    props = {
        "name": record.legal_name[:200],
        REFERENCE: record.reference,
        "fintech_onboarding_stage": onboarding_stage(record, now=now, rules=rules),
        "fintech_kyc_status": kyc_label(record),
        "fintech_account_tier": rules.tiers[min(band, len(rules.tiers) - 1)],
        "fintech_high_value": "true" if band >= rules.high_value_band else "false",
        "fintech_volume_band_90d": bands[band],
        "fintech_activity_month": f"{now:%Y-%m}",
        "fintech_activity_count": str(len(month)),
        "fintech_activity_band": bands[band_of(_totals(month), rules=rules)],
        "fintech_console_link": profile_link(console, record.profile_id),
    }
    if currencies:
        props["fintech_currencies"] = ";".join(currencies)
    failed = last_failed(record)
    if failed is not None:
        props["fintech_last_failed_reason"] = reason_code(failed.failure_reason)
    if owner_id:
        props["hubspot_owner_id"] = owner_id
    return allowlisted("company", props, rules=rules, console=console)


def contact_properties(member: MemberRecord, *, rules: Rules, console: str) -> dict[str, str]:
    """Name and work email only."""
    if not member.email:
        raise MappingError(f"member {member.user_id} has no email: a contact needs one")
    props = {"email": member.email.strip().lower()}
    if member.first_name:
        props["firstname"] = member.first_name[:150]
    if member.last_name:
        props["lastname"] = member.last_name[:150]
    return allowlisted("contact", props, rules=rules, console=console)


def profile_link(console: str, profile_id: int) -> str:
    return f"{console.rstrip('/')}/admin/customers/profile/{profile_id}/change/"


def transfer_link(console: str, transfer_id: int) -> str:
    return f"{console.rstrip('/')}/admin/transfers/transfer/{transfer_id}/change/"


def note_token(kind: str, reference: str) -> str:
    """Our reference inside a note's body: how a retry finds the note it already made."""
    return f"[fintech:{kind}:{reference}]"


def _millis(when: dt.datetime) -> str:
    return str(int(when.timestamp() * 1000))


def note_failed_payment(transfer: TransferRecord, *, rules: Rules, console: str) -> dict[str, str]:
    """A failed payment: its reason code and our console's link; no amount, no names."""
    code = reason_code(transfer.failure_reason)
    body = (
        f"Payment failed. Reason code: {code}. Transfer {transfer.reference}: "
        f"{transfer_link(console, transfer.transfer_id)} "
        f"{note_token('payment_failed', transfer.reference)}"
    )
    when = transfer.failed_at or transfer.created_at
    return allowlisted(
        "note", {"hs_note_body": body, "hs_timestamp": _millis(when)}, rules=rules, console=console
    )


def note_verified(
    record: ProfileRecord, *, when: dt.datetime, rules: Rules, console: str
) -> dict[str, str]:
    body = (
        f"Verification completed. Reason code: kyc_verified. "
        f"{profile_link(console, record.profile_id)} {note_token('verified', record.reference)}"
    )
    return allowlisted(
        "note", {"hs_note_body": body, "hs_timestamp": _millis(when)}, rules=rules, console=console
    )


# --- bodies (HubSpot CRM v3) -------------------------------------------------------------

# HubSpot-defined association types (v4 ids, accepted by v3 creates).
CONTACT_TO_COMPANY = 279
NOTE_TO_COMPANY = 190


def _association(to_id: str, type_id: int) -> Body:
    return {
        "to": {"id": to_id},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
    }


def create_body(properties: dict[str, str], *, company_id: str = "", type_id: int = 0) -> Body:
    """SimplePublicObjectInputForCreate."""
    associations = [_association(company_id, type_id)] if company_id else []
    return {"properties": properties, "associations": associations}


def update_body(properties: dict[str, str]) -> Body:
    """SimplePublicObjectInput."""
    return {"properties": properties}


def search_body(property_name: str, value: str, *, operator: str = "EQ") -> Body:
    """PublicObjectSearchRequest: the objects whose `property_name` matches `value`."""
    return {
        "filterGroups": [
            {"filters": [{"propertyName": property_name, "operator": operator, "value": value}]}
        ],
        "properties": [property_name],
        "limit": 2,
    }


def property_definitions(rules: Rules) -> list[Body]:
    """The company properties we create on connect (PropertyCreate bodies)."""

    def enum(name: str, label: str, options: tuple[str, ...]) -> Body:
        return {
            "name": name,
            "label": label,
            "type": "enumeration",
            "fieldType": "select",
            "groupName": GROUP,
            "options": [
                {"label": o.replace("_", " "), "value": o, "displayOrder": i, "hidden": False}
                for i, o in enumerate(options)
            ],
        }

    def text(name: str, label: str, *, unique: bool = False) -> Body:
        body: Body = {
            "name": name,
            "label": label,
            "type": "string",
            "fieldType": "text",
            "groupName": GROUP,
        }
        if unique:
            body["hasUniqueValue"] = True
        return body

    bands = rules.bands()
    return [
        text(REFERENCE, "Fintech profile reference", unique=True),
        enum("fintech_onboarding_stage", "Onboarding stage", STAGES),
        enum("fintech_kyc_status", "KYC status", KYC_LABELS),
        enum("fintech_account_tier", "Account tier", rules.tiers),
        enum("fintech_high_value", "High value", ("true", "false")),
        enum("fintech_volume_band_90d", "Volume band (90 days)", bands),
        text("fintech_activity_month", "Activity month"),
        {
            "name": "fintech_activity_count",
            "label": "Transfers this month",
            "type": "number",
            "fieldType": "number",
            "groupName": GROUP,
        },
        enum("fintech_activity_band", "Volume band this month", bands),
        text("fintech_currencies", "Currencies this month"),
        text("fintech_last_failed_reason", "Last failed payment reason"),
        text("fintech_console_link", "Console link"),
    ]
