"""Hypothesis strategies: random profiles with members and transfers, every field filled.
Sensitive free text carries a `~` (which nothing we may send contains), so a value found in a
body was leaked, not produced by chance; bank details, dates and document numbers have their
real shapes."""

from __future__ import annotations

import datetime as dt
import string

from hypothesis import strategies as st

from integrations.connectors.crm.records import MemberRecord, ProfileRecord, TransferRecord

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
CURRENCIES = ["GBP", "EUR", "USD", "JPY", "INR"]
_word = st.text(alphabet=string.ascii_letters, min_size=2, max_size=12)
_name = st.builds(lambda a, b: f"{a}~{b}", _word, _word)
_iban = st.builds(
    lambda cc, n: f"{cc}{n}",
    st.sampled_from(["GB", "DE", "FR", "NL"]),
    st.text(alphabet=string.digits + "WESTABC", min_size=16, max_size=26),
)
_account = st.text(alphabet=string.digits, min_size=8, max_size=12)
_dob = st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2006, 1, 1)).map(
    lambda d: d.strftime("%d/%m/%Y")
)
_document = st.builds(
    lambda p, n: f"{p}{n}X",
    st.sampled_from(["P", "ID", "DL"]),
    st.text(alphabet=string.digits, min_size=6, max_size=9),
)
_address = st.builds(lambda n, w: f"{n} {w}~Road", st.integers(1, 999), _word)
_when = st.integers(0, 400).map(lambda days: NOW - dt.timedelta(days=days, minutes=7))
_reason = st.one_of(
    st.builds(
        lambda c, m: f"payout partner: {c}: {m}",
        st.sampled_from(["invalid_account", "account_closed", "sanctions_hit"]),
        _name,
    ),
    st.builds(lambda n: f"returned by bank of {n}", _name),
)


@st.composite
def transfers(draw: st.DrawFn, index: int) -> TransferRecord:
    state = draw(st.sampled_from(["completed", "failed", "processing", "refunded", "created"]))
    created = draw(_when)
    source, target = draw(st.sampled_from(CURRENCIES)), draw(st.sampled_from(CURRENCIES))
    return TransferRecord(
        transfer_id=10_000 + index,
        reference=f"TR{draw(st.text(alphabet=string.ascii_uppercase, min_size=8, max_size=8))}",
        state=state,
        source_currency=source,
        # Amounts above every id and count the bodies may carry.
        source_amount_minor=draw(st.integers(1_000_001, 10**12)),
        target_currency=target,
        target_amount_minor=draw(st.integers(1_000_001, 10**12)),
        fee_minor=draw(st.integers(1_000_001, 10**9)),
        failure_reason=draw(_reason) if state == "failed" else "",
        customer_transaction_id=f"ctx-{draw(_word)}-{index}",
        beneficiary_name=draw(_name),
        beneficiary_details={"iban": draw(_iban), "account_number": draw(_account)},
        created_at=created,
        completed_at=created + dt.timedelta(hours=1)
        if state in ("completed", "refunded")
        else None,
        failed_at=created + dt.timedelta(hours=1) if state == "failed" else None,
    )


@st.composite
def members(draw: st.DrawFn, index: int) -> MemberRecord:
    first, last = draw(_word), draw(_word)
    return MemberRecord(
        user_id=500 + index,
        username=f"user{index}{draw(_word)}",
        first_name=first,
        last_name=last,
        email=f"{first.lower()}.{index}@example.com",
        role=draw(st.sampled_from(["owner", "admin", "member"])),
        other={"date_of_birth": draw(_dob), "passport_number": draw(_document)},
    )


@st.composite
def profiles(draw: st.DrawFn) -> ProfileRecord:
    n_members = draw(st.integers(0, 3))
    n_transfers = draw(st.integers(0, 8))
    return ProfileRecord(
        profile_id=draw(st.integers(1, 99_999)),
        kind="business",
        legal_name=f"{draw(_word)} Trading Ltd",
        registration_number=f"REG{draw(st.text(alphabet=string.digits, min_size=6, max_size=8))}",
        country=draw(st.sampled_from(["GB", "DE", "FR"])),
        address_line1=draw(_address),
        address_line2=f"Unit~{draw(st.integers(1, 99))}B",
        city=f"{draw(_word)}~ton",
        postal_code=f"SW{draw(st.integers(1, 99))}~{draw(st.integers(1, 9))}XY",
        email=f"finance@{draw(_word).lower()}.example",
        created_at=draw(_when),
        kyc_state=draw(st.sampled_from(["unverified", "pending", "verified", "rejected"])),
        kyc_review_required=draw(st.booleans()),
        kyc_review_reason=f"documents~of {draw(_name)} unclear",
        members=tuple(draw(members(i)) for i in range(n_members)),
        transfers=tuple(draw(transfers(i)) for i in range(n_transfers)),
        other={"director_dob": draw(_dob), "company_document": draw(_document)},
    )
