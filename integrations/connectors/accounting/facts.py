"""What the ledger says about a transfer, a refund, a wallet funding or a day: read-only facts.

Accounting connectors are told only what the ledger already says ("from the ledger out"): the
amounts here come from the postings of the ledger's entries (keys `transfer:<reference>:<step>`
and `wallet-funding:<partner>:<ref>`, see ledger/transfer_postings.py and docs/ledger.md), not
from the transfer or quote rows, which only add names and the quoted rate. Nothing here writes.

Days are UTC days (settings.TIME_ZONE is UTC): an entry belongs to the day of its
`effective_at` in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import QuerySet

from fintech.customers.models import Profile
from fintech.transfers.models import Transfer
from fintech.wallets.selectors import wallet_owner
from integrations.errors import PermanentError
from ledger.selectors import (
    EntryView,
    daily_totals,
    entries_by_idempotency_keys,
    entry_ids_on_day,
    entry_view,
    first_entry_day,
)


class FactsUnavailable(PermanentError):
    """The ledger does not (yet) say what was asked, or says something else."""


# Ledger account code prefixes the facts read.
FEES = "revenue:fees:"
MARGIN = "revenue:fx-margin:"
CLEARING = "clearing:transfers:"
FUNDING = "funding:"
WALLET = "wallet:"
WALLET_FUNDING_KEY = "wallet-funding:"

# Every step a transfer can post, in the order they can happen (docs/ledger.md).
TRANSFER_STEPS = (
    "fund",
    "submit",
    "complete",
    "fail:unwind",
    "fail",
    "cancel:unwind",
    "cancel",
    "refund:unpay",
    "refund:unwind",
    "refund",
)
# The steps that reverse the submit entry (fee and margin given back).
UNWIND_STEPS = ("fail:unwind", "cancel:unwind", "refund:unwind")


def utc_day(at: dt.datetime) -> dt.date:
    return at.astimezone(dt.UTC).date()


@dataclass(frozen=True)
class ContactFacts:
    """Who a profile is, for an accounting tool: nothing beyond these three."""

    reference: str  # ours and stable: "PRF-<profile id>"
    name: str
    email: str


@dataclass(frozen=True)
class TransferFacts:
    reference: str
    contact: ContactFacts
    booked_on: dt.date  # the day of the submit entry: fee and margin are recognised there
    source_currency: str
    source_minor: int  # what the customer paid, fee included
    fee_minor: int  # source currency
    target_currency: str
    target_minor: int  # what the beneficiary receives
    margin_minor: int  # target currency; negative when the rounding favoured the customer
    rate: Decimal  # the quote's customer rate, target per source
    beneficiary_name: str
    bill_reference: str  # the customer's bill this pays (its ERP payment request's), or ""
    state: str
    entry_ids: tuple[int, ...]  # every ledger entry of the transfer, oldest first
    # The step that reversed the submit entry ("fail:unwind", "cancel:unwind" or
    # "refund:unwind"; "" while it stands) and its day. A reversal mirrors the submit entry:
    # fee and margin were given back in full then.
    unwound_by: str = ""
    unwound_on: dt.date | None = None

    @property
    def converted_minor(self) -> int:
        """The source amount converted (and paid out): what was paid minus the fee."""
        return self.source_minor - self.fee_minor


@dataclass(frozen=True)
class RefundFacts:
    transfer: TransferFacts
    booked_on: dt.date  # the day of the refund entry
    fee_minor: int  # fee given back by the refund (0 after a failure: given back then)
    margin_minor: int  # margin given back by the refund (target currency; may be negative)
    source_minor: int  # paid back to the payer's bank, source currency


@dataclass(frozen=True)
class FundingFacts:
    reference: str  # the entry's idempotency key, wallet-funding:<partner>:<bank reference>
    contact: ContactFacts
    booked_on: dt.date
    currency: str
    amount_minor: int
    entry_id: int


def contact_facts(*, profile_id: int) -> ContactFacts:
    profile = Profile.objects.filter(pk=profile_id).only("legal_name", "email").first()
    if profile is None:
        raise FactsUnavailable(f"no profile {profile_id}")
    return _contact(profile)


def _contact(profile: Profile) -> ContactFacts:
    return ContactFacts(reference=f"PRF-{profile.pk}", name=profile.legal_name, email=profile.email)


# --------------------------------------------------------------------------- transfers


def _one(entry: EntryView, *, prefix: str, side: str) -> tuple[str, int]:
    """(currency, amount) of the single debit or credit on accounts starting with `prefix`."""
    found = [
        (p.currency, p.debit_minor if side == "debit" else p.credit_minor)
        for p in entry.postings
        if p.account_code.startswith(prefix)
        and (p.debit_minor if side == "debit" else p.credit_minor) > 0
    ]
    if len(found) != 1:
        raise FactsUnavailable(
            f"entry {entry.id} ({entry.idempotency_key}) has {len(found)} {side}s on {prefix}*; "
            "expected one"
        )
    return found[0]


def _transfer(transfer_id: int) -> tuple[TransferFacts, dict[str, EntryView]]:
    transfer = (
        Transfer.objects.select_related("profile", "beneficiary", "quote", "erp_request")
        .filter(pk=transfer_id)
        .first()
    )
    if transfer is None:
        raise FactsUnavailable(f"no transfer {transfer_id}")
    # An ERP's payment request names the bill it settles (fintech/payments): the customer's
    # books then get a bill payment against that bill.
    erp_request = getattr(transfer, "erp_request", None)
    prefix = f"transfer:{transfer.reference}:"
    entries = entries_by_idempotency_keys(
        idempotency_keys=[prefix + step for step in TRANSFER_STEPS]
    )
    by_step = {e.idempotency_key.removeprefix(prefix): e for e in entries}
    submit = by_step.get("submit")
    if submit is None:
        raise FactsUnavailable(
            f"transfer {transfer.reference} has no submit entry in the ledger yet "
            f"(it is {transfer.state}): no fee or margin has been booked"
        )
    # Submit: Dr clearing SRC S, Cr fees SRC F, Cr fx SRC S-F, Dr fx TGT T+M, Cr/Dr margin TGT M,
    # Cr clearing TGT T.
    source_currency, source_minor = _one(submit, prefix=CLEARING, side="debit")
    target_currency, target_minor = _one(submit, prefix=CLEARING, side="credit")
    said = (source_currency, source_minor, target_currency, target_minor)
    recorded = (
        transfer.source_currency,
        transfer.source_amount_minor,
        transfer.target_currency,
        transfer.target_amount_minor,
    )
    if said != recorded:
        raise FactsUnavailable(
            f"transfer {transfer.reference}: the ledger's submit entry {submit.id} says {said}, "
            f"the transfer row {recorded}; an operator must look before anything is synced"
        )
    unwound_by = next((step for step in UNWIND_STEPS if step in by_step), "")
    unwind = by_step.get(unwound_by)
    facts = TransferFacts(
        reference=transfer.reference,
        contact=_contact(transfer.profile),
        booked_on=utc_day(submit.effective_at),
        source_currency=source_currency,
        source_minor=source_minor,
        fee_minor=submit.net_credit(code_prefix=FEES),
        target_currency=target_currency,
        target_minor=target_minor,
        margin_minor=submit.net_credit(code_prefix=MARGIN),
        rate=transfer.quote.customer_rate,
        beneficiary_name=transfer.beneficiary.holder_name,
        bill_reference=erp_request.bill_reference if erp_request is not None else "",
        state=transfer.state,
        entry_ids=tuple(e.id for e in entries),
        unwound_by=unwound_by,
        unwound_on=utc_day(unwind.effective_at) if unwind else None,
    )
    return facts, by_step


def transfer_facts(*, transfer_id: int) -> TransferFacts:
    """The transfer as its ledger entries say; FactsUnavailable before its submit entry."""
    return _transfer(transfer_id)[0]


def refund_facts(*, transfer_id: int) -> RefundFacts:
    """The refund of a transfer as its refund entries say; FactsUnavailable before them.

    After completion the refund reverses the submit entry (`refund:unwind`): fee and margin
    are given back there. After a failure they were given back by `fail:unwind`, so the refund
    gives back none (fee_minor = margin_minor = 0).
    """
    facts, by_step = _transfer(transfer_id)
    refund = by_step.get("refund")
    if refund is None:
        raise FactsUnavailable(f"transfer {facts.reference} has no refund entry in the ledger")
    unwind = by_step.get("refund:unwind")
    return RefundFacts(
        transfer=facts,
        booked_on=utc_day(refund.effective_at),
        fee_minor=-unwind.net_credit(code_prefix=FEES) if unwind else 0,
        margin_minor=-unwind.net_credit(code_prefix=MARGIN) if unwind else 0,
        source_minor=_one(refund, prefix=FUNDING, side="credit")[1],
    )


# --------------------------------------------------------------------------- wallet funding


def funding_facts(*, entry_id: int) -> FundingFacts:
    """A wallet funding (Dr funding:<bank>:CCY, Cr wallet:<owner>:CCY) as its entry says."""
    entry = entry_view(entry_id=entry_id)
    if entry is None:
        raise FactsUnavailable(f"no ledger entry {entry_id}")
    if not entry.idempotency_key.startswith(WALLET_FUNDING_KEY):
        raise FactsUnavailable(f"entry {entry_id} ({entry.idempotency_key}) is no wallet funding")
    currency, amount_minor = _one(entry, prefix=WALLET, side="credit")
    profile_id = entry.metadata.get("profile_id")
    profile = Profile.objects.filter(pk=profile_id).first() if isinstance(profile_id, int) else None
    wallet = next(p.account_code for p in entry.postings if p.account_code.startswith(WALLET))
    if profile is None or wallet != f"{WALLET}{wallet_owner(profile)}:{currency}":
        raise FactsUnavailable(
            f"entry {entry_id}: its metadata names profile {profile_id!r}, its wallet is {wallet}"
        )
    return FundingFacts(
        reference=entry.idempotency_key,
        contact=_contact(profile),
        booked_on=utc_day(entry.effective_at),
        currency=currency,
        amount_minor=amount_minor,
        entry_id=entry.id,
    )


# --------------------------------------------------------------------------- daily journals

# Ledger account code prefix -> the role an accounting tool maps to one of its accounts.
# First match wins; every account of the chart (ledger/chart.py) must match one.
ROLE_BY_CODE_PREFIX: tuple[tuple[str, str], ...] = (
    (FEES, "fee_revenue"),
    (MARGIN, "fx_margin_revenue"),
    (WALLET, "customer_funds"),
    (CLEARING, "payout_clearing"),
    (FUNDING, "client_money"),
    ("payout:", "client_money"),
    ("fx:position:", "fx_position"),
)
JOURNAL_ROLES = tuple(dict.fromkeys(role for _, role in ROLE_BY_CODE_PREFIX))


class MovementLine(NamedTuple):
    role: str
    debit_minor: int
    credit_minor: int


@dataclass(frozen=True)
class DayMovement:
    """One UTC day of the ledger in one currency, summed per role; debits equal credits."""

    day: dt.date
    currency: str
    lines: tuple[MovementLine, ...]  # by role name
    entry_count: int


def daily_movements(
    *, start: dt.date, end: dt.date, chunk_size: int = 2000
) -> Iterator[DayMovement]:
    """Each UTC day from `start` to `end` (both included) and currency with postings, in that
    order: one set-based query streamed through a server-side cursor (constant memory)."""
    for totals in daily_totals(
        start=start, end=end, groups=ROLE_BY_CODE_PREFIX, chunk_size=chunk_size
    ):
        lines = tuple(MovementLine(*line) for line in totals.groups)
        if any(line.role == "" for line in lines):
            raise FactsUnavailable(
                f"{totals.day} {totals.currency}: a ledger account no role covers; "
                "add its code prefix to ROLE_BY_CODE_PREFIX"
            )
        debits = sum(line.debit_minor for line in lines)
        credits = sum(line.credit_minor for line in lines)
        # The ledger guarantees it (a deferred trigger per entry and currency); checked anyway
        # because a journal that does not balance must never leave.
        if debits != credits:
            raise FactsUnavailable(
                f"{totals.day} {totals.currency}: debits {debits} <> credits {credits}"
            )
        yield DayMovement(totals.day, totals.currency, lines, totals.entry_count)


def journal_entry_ids(*, day: dt.date, currency: str) -> QuerySet[Any, int]:
    """The ledger entries behind a DayMovement (its drill-down), ids ascending."""
    return entry_ids_on_day(day=day, currency=currency)


def ledger_first_day() -> dt.date | None:
    """The first UTC day with a ledger entry (where a journal backfill starts)."""
    return first_entry_day()
