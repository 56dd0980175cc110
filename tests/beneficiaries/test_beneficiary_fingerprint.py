"""The keyed fingerprint of a beneficiary's account: the same account across profiles gives
one fingerprint however it is written; the column never holds the details, nor a hash anyone
could recompute from a guessed account number without the key."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from fintech.beneficiaries.fingerprint import (
    account_canonical,
    details_fingerprint,
    fingerprints_refresh,
)
from fintech.beneficiaries.models import Beneficiary
from tests.builders import build_beneficiary, build_profile

pytestmark = pytest.mark.django_db

IBAN = {"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"}


def stored_fingerprint(beneficiary: Beneficiary) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT details_fingerprint FROM beneficiaries_beneficiary WHERE id = %s",
            [beneficiary.pk],
        )
        [(value,)] = cursor.fetchall()
    return str(value)


def test_one_iban_written_differently_by_two_profiles_is_one_fingerprint(alice) -> None:
    dora = build_profile(legal_name="Dora Imports Ltd")
    mine = build_beneficiary(profile=alice, currency="EUR", holder_name="Müller GmbH", details=IBAN)
    theirs = build_beneficiary(
        profile=dora,
        currency="EUR",
        holder_name="MUELLER GMBH",  # the holder's name is not part of the account
        details={"iban": "de89370400440532013000", "bic": "cobadeff"},  # BIC 8 vs 11
    )
    assert mine.profile_id != theirs.profile_id
    fingerprint = stored_fingerprint(mine)
    assert fingerprint == stored_fingerprint(theirs) == theirs.details_fingerprint
    assert len(fingerprint) == 64  # hex of HMAC-SHA256
    assert set(fingerprint) <= set("0123456789abcdef")

    another = build_beneficiary(
        profile=dora, currency="CHF", details={"iban": "CH9300762011623852957", "bic": "POFICHBE"}
    )
    assert stored_fingerprint(another) != fingerprint


@pytest.mark.parametrize("currency", ["EUR", "GBP", "USD", "INR", "CHF"])
def test_the_column_is_never_the_details_nor_an_unkeyed_hash_of_them(alice, currency) -> None:
    beneficiary = build_beneficiary(profile=alice, currency=currency)
    stored = stored_fingerprint(beneficiary)
    details = beneficiary.bank_details
    canonical = account_canonical(beneficiary.scheme, details)
    # Not the details, not any part of them, not a plain hash someone could recompute from a
    # guessed account number: only the key makes it.
    for secret in details.values():
        assert secret.lower() not in stored.lower()
    plain = [hashlib.sha256(v.encode()).hexdigest() for v in [canonical, *details.values()]]
    assert stored not in plain
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT details_fingerprint FROM beneficiaries_beneficiaryevent WHERE pgh_obj_id = %s",
            [beneficiary.pk],
        )
        assert {row[0] for row in cursor.fetchall()} == {stored}  # the history holds the same
    with override_settings(SECRET_KEY="another-secret-key-of-at-least-32-characters"):
        assert details_fingerprint(beneficiary.scheme, details) != stored


def test_a_uk_account_as_iban_or_as_sort_code_is_one_account(alice) -> None:
    by_sort_code = build_beneficiary(profile=alice, currency="GBP")  # 40-47-84 70872490
    by_iban = build_beneficiary(
        profile=build_profile(legal_name="Ekow Traders Ltd"),
        currency="GBP",
        scheme="iban",
        country="GB",
        details={"iban": "GB68 HBUK 4047 8470 8724 90", "bic": "HBUKGB4B"},
    )
    assert stored_fingerprint(by_sort_code) == stored_fingerprint(by_iban)


def test_only_the_account_identifiers_are_fingerprinted() -> None:
    checking = {"routing_number": "021000021", "account_number": "123456789"}
    assert details_fingerprint("us_aba", {**checking, "account_type": "checking"}) == (
        details_fingerprint("us_aba", {**checking, "account_type": "savings"})
    )
    assert details_fingerprint(
        "in_ifsc", {"ifsc": "HDFC0001234", "account_number": "1234567890"}
    ) != (details_fingerprint("in_ifsc", {"ifsc": "HDFC0001235", "account_number": "1234567890"}))
    # The separator keeps routing code and account number apart.
    assert account_canonical("us_aba", checking) == "US:021000021:123456789"


def test_older_rows_get_their_fingerprint_from_the_refresh(alice) -> None:
    kept = build_beneficiary(profile=alice, currency="EUR")
    old = build_beneficiary(profile=alice, currency="USD")
    expected = old.details_fingerprint
    Beneficiary.objects.filter(pk=old.pk).update(details_fingerprint="")  # as before 0003

    assert fingerprints_refresh(Beneficiary) == 1
    assert stored_fingerprint(old) == expected
    assert stored_fingerprint(kept) == kept.details_fingerprint
    out = StringIO()
    call_command("beneficiary_fingerprints_refresh", stdout=out)
    assert out.getvalue().strip() == "0 beneficiary fingerprint(s) changed"


@given(
    st.lists(st.sampled_from(["", " ", "-", "  "]), min_size=22, max_size=22),
    st.lists(st.booleans(), min_size=22, max_size=22),
)
def test_spaces_dashes_and_case_never_change_the_fingerprint(
    separators: list[str], lower: list[bool]
) -> None:
    iban = "DE89370400440532013000"
    written = "".join(
        (c.lower() if low else c) + sep for c, low, sep in zip(iban, lower, separators, strict=True)
    )
    assert details_fingerprint("iban", {"iban": written, "bic": "COBADEFF"}) == (
        details_fingerprint("iban", {"iban": iban, "bic": "COBADEFFXXX"})
    )
