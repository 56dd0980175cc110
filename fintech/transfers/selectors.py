"""Transfer reads, always scoped to the profile asking (another profile's transfer is NotFound)."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from fintech.beneficiaries.models import Beneficiary
from fintech.compliance.models import HOLDING_HIT_STATES, ComplianceStatus, ScreeningHit
from fintech.core.errors import FieldError, NotFound, ValidationFailed
from fintech.core.money import validate_currency
from fintech.core.sql import Part, fetch_one, instances, quoted_table, select_list
from fintech.customers.models import Profile
from fintech.monitoring.models import MonitoringRule
from fintech.quotes.models import Quote
from fintech.transfers.models import Transfer, TransferTransition


def _transfers(profile: Profile) -> QuerySet[Transfer]:
    return Transfer.objects.filter(profile=profile).select_related("beneficiary", "quote")


def transfer_get(profile: Profile, id_or_reference: int | str) -> Transfer:
    """By numeric id or by reference ("TR..."), case-insensitive on the reference."""
    transfers = _transfers(profile)
    key = str(id_or_reference).strip()
    if key.isdigit():
        found = transfers.filter(pk=int(key)).first()
    else:
        found = transfers.filter(reference=key.upper()).first()
    if found is None:
        raise NotFound(f"transfer {id_or_reference} not found")
    return found


def transfer_list(
    profile: Profile,
    state: str | None = None,
    currency: str | None = None,
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
) -> QuerySet[Transfer]:
    """Newest first. `currency` matches either side; `created_from` is inclusive,
    `created_to` exclusive."""
    transfers = _transfers(profile)
    if state is not None:
        if state not in Transfer.State.values:
            raise ValidationFailed(
                [
                    FieldError(
                        "state", "invalid_choice", "one of " + ", ".join(Transfer.State.values)
                    )
                ]
            )
        transfers = transfers.filter(state=state)
    if currency is not None:
        code = validate_currency(currency, field="currency")
        transfers = transfers.filter(Q(source_currency=code) | Q(target_currency=code))
    if created_from is not None:
        transfers = transfers.filter(created_at__gte=created_from)
    if created_to is not None:
        transfers = transfers.filter(created_at__lt=created_to)
    return transfers.order_by("-created_at", "-id")


def transfer_timeline(transfer: Transfer) -> QuerySet[TransferTransition]:
    """Every transition of the transfer, oldest first, starting with its creation (from the
    prefetch cache when the caller filled it: prefetch_related("transitions") or
    timeline_known)."""
    return transfer.transitions.all()  # Meta.ordering: occurred_at, id


def timeline_known(transfer: Transfer, transitions: list[TransferTransition]) -> None:
    """Record the transfer's complete timeline where prefetch_related("transitions") would."""
    # Never evaluated: its result is already known.
    queryset: QuerySet[TransferTransition] = QuerySet(model=TransferTransition)
    queryset._result_cache = transitions
    queryset._prefetch_done = True  # type: ignore[attr-defined]
    cache: dict[str, QuerySet[Any]] = transfer.__dict__.setdefault("_prefetched_objects_cache", {})
    cache["transitions"] = queryset


# ---------------------------------------------------------------------------------------------
# What creating a transfer reads


@dataclass(frozen=True)
class TransferInputs:
    compliance_state: str | None  # None: the profile has no compliance record
    quote: Quote | None  # None: no such quote, or another profile's
    beneficiary: Beneficiary | None  # None: no such beneficiary, or another profile's
    # An open or confirmed screening hit on the profile (or a member) or the beneficiary;
    # the refusal then reads the hits for its message (fintech.compliance.screening).
    screening_held: bool = False
    # The active monitoring rules, as rows of RULE_COLUMNS (fintech.monitoring judges the
    # transfer with them once it is inserted): read here, no extra round trip.
    monitoring_rules: tuple[tuple[Any, ...], ...] = ()


# The bank details are not needed to create a transfer: not read, not decrypted.
_INPUT_PARTS = (Part(Quote, "q"), Part(Beneficiary, "b", defer=("bank_details",)))
_MAX_ID = 2**63 - 1


# What transaction monitoring needs of a rule (fintech.monitoring.selectors.rules_from_rows).
RULE_COLUMNS = (
    "id", "name", "kind", "score", "profile_kind", "source_currency", "target_currency",
    "beneficiary_country", "amount_minor", "band_minor", "round_unit_minor", "count",
    "window_hours",
)  # fmt: skip


@functools.cache
def _inputs_sql() -> str:
    # One round trip instead of four ORM queries: this runs on every transfer the API
    # creates. The quote and beneficiary are joined by primary key only, and their profile is
    # checked in Python (transfer_inputs): with the profile in the join too, a prepared plan
    # made while the tables were small could pick the profile's index and then scan every
    # quote of the profile on each request. The last column says whether a screening hit
    # holds the profile (or a member) or the beneficiary.
    hit = ScreeningHit.SubjectType
    live = ", ".join(f"'{state}'" for state in HOLDING_HIT_STATES)
    held = (
        f"EXISTS (SELECT 1 FROM {quoted_table(ScreeningHit)} h WHERE h.status IN ({live}) "  # noqa: S608 (names from _meta)
        f"AND ((h.profile_id = %s AND h.subject_type IN ('{hit.PROFILE}', '{hit.MEMBER}')) "
        f"OR (h.subject_type = '{hit.BENEFICIARY}' AND h.subject_id = %s)))"
    )
    rule_columns = ", ".join(f'r."{name}"' for name in RULE_COLUMNS)  # columns named as fields
    rules = (
        f"(SELECT COALESCE(json_agg(json_build_array({rule_columns}) ORDER BY r.id), '[]') "  # noqa: S608 (names from _meta)
        f"FROM {quoted_table(MonitoringRule)} r WHERE r.is_active)"
    )
    return (
        f"SELECT {select_list(_INPUT_PARTS)}, c.state, {held}, {rules} "  # noqa: S608 (names from _meta)
        "FROM (SELECT 1) AS one "
        f"LEFT JOIN {quoted_table(Quote)} q ON q.id = %s "
        f"LEFT JOIN {quoted_table(Beneficiary)} b ON b.id = %s "
        f"LEFT JOIN {quoted_table(ComplianceStatus)} c ON c.profile_id = %s"
    )


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def _id_or_none(value: object) -> int | None:
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number <= _MAX_ID else None


def transfer_inputs(*, profile_id: int, quote_id: object, beneficiary_id: object) -> TransferInputs:
    """The profile's compliance state, its quote and beneficiary by id (None when missing,
    malformed or another profile's), whether a screening hit holds either, and the active
    monitoring rules, as of now, in one query."""
    quote_pk, beneficiary_pk = _uuid_or_none(quote_id), _id_or_none(beneficiary_id)
    row = fetch_one(
        _inputs_sql(), [profile_id, beneficiary_pk, quote_pk, beneficiary_pk, profile_id]
    )
    assert row is not None  # FROM (SELECT 1): always one row
    quote, beneficiary = instances(_INPUT_PARTS, row)
    assert quote is None or isinstance(quote, Quote)
    assert beneficiary is None or isinstance(beneficiary, Beneficiary)
    # Another profile's quote or beneficiary reads as missing.
    return TransferInputs(
        compliance_state=row[-3],
        screening_held=bool(row[-2]),
        monitoring_rules=tuple(tuple(rule) for rule in row[-1]),
        quote=quote if quote is not None and quote.profile_id == profile_id else None,
        beneficiary=(
            beneficiary
            if beneficiary is not None and beneficiary.profile_id == profile_id
            else None
        ),
    )
