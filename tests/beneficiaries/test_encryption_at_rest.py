"""Bank details are encrypted at rest: the raw column (and its row history) holds no plaintext."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from tests.builders import build_beneficiary

pytestmark = pytest.mark.django_db


def raw(sql: str, params: list[int]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize(
    ("currency", "secrets"),
    [
        ("EUR", ["DE89370400440532013000", "0532013000", "COBADEFF"]),
        ("GBP", ["70872490", "404784"]),
        ("USD", ["123456789", "021000021"]),
        ("INR", ["50100012345678", "HDFC0001234"]),
    ],
)
def test_raw_column_holds_no_plaintext(alice, currency, secrets) -> None:
    beneficiary = build_beneficiary(profile=alice, currency=currency)

    [stored] = raw(
        "SELECT bank_details::text FROM beneficiaries_beneficiary WHERE id = %s",
        [beneficiary.pk],
    )
    history = raw(
        "SELECT bank_details::text FROM beneficiaries_beneficiaryevent WHERE pgh_obj_id = %s",
        [beneficiary.pk],
    )

    # The keys (field names) are plain; every value is a Fernet token.
    assert set(json.loads(stored)) == set(beneficiary.bank_details)
    assert all(v.startswith("gAAAA") for v in json.loads(stored).values())
    assert history  # the history row exists, and it holds the ciphertext too
    for value in [stored, *history]:
        for secret in secrets:
            assert secret not in value
            assert secret.lower() not in value.lower()
    # ...while the model decrypts it.
    decrypted = type(beneficiary).objects.get(pk=beneficiary.pk).bank_details
    assert secrets[0] in decrypted.values()


def test_masked_details_show_only_the_last_four(alice) -> None:
    beneficiary = build_beneficiary(profile=alice, currency="EUR")
    assert beneficiary.masked_details == "IBAN ****3000"
    assert "0532013000" not in beneficiary.masked_details
