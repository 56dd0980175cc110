"""A keyed fingerprint of a beneficiary's bank account, to recognise the same account
across profiles without decrypting anyone's details (transaction monitoring's
`many_senders_one_beneficiary` rule counts the profiles paying one fingerprint).

HMAC-SHA256, not a plain hash: account numbers are short and guessable (a sort code has
10^6 values, an account number 10^8), so a plain SHA-256 column would let anyone who reads
the table test a guessed account against it. Keyed, nobody without the key can. The key is
derived from SECRET_KEY with a fixed label, so it is separate from the field-encryption keys
(which django-fernet-encrypted-fields derives from SECRET_KEY and SALT_KEY) and from every
other use of SECRET_KEY. Rotating SECRET_KEY changes every fingerprint: recompute them
(`manage.py beneficiary_fingerprints_refresh`), or cross-profile matches stop until then.

What is fingerprinted is only what identifies the account, in a canonical form (upper case,
spaces and dashes removed): the IBAN, or the domestic routing code and account number. Not
the BIC (optional detail of the same IBAN), not the currency, not the holder's name, not
the US account type. A UK IBAN and the same account as sort code and account number are one
account (the IBAN's BBAN is bank code, sort code, account number), so both give one
fingerprint.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from fintech.beneficiaries.validators import normalise

LABEL = b"beneficiary-fingerprint"


def _key() -> bytes:
    # Derived per call: cheap (one HMAC), and a changed SECRET_KEY (tests, rotation) is used.
    return hmac.new(settings.SECRET_KEY.encode("utf-8"), LABEL, hashlib.sha256).digest()


def account_canonical(scheme: str, details: Mapping[str, str]) -> str:
    """The account's identifiers in one canonical string (see the module docstring)."""
    if scheme == "iban":
        iban = normalise(details["iban"])
        if iban.startswith("GB") and len(iban) == 22:
            # GBkk BBBB SSSSSS AAAAAAAA: the same account as sort code SSSSSS, number AAAAAAAA.
            return f"GB:{iban[8:14]}:{iban[14:]}"
        return f"IBAN:{iban}"
    if scheme == "gb_sort_code":
        return f"GB:{normalise(details['sort_code'])}:{normalise(details['account_number'])}"
    if scheme == "us_aba":
        return f"US:{normalise(details['routing_number'])}:{normalise(details['account_number'])}"
    if scheme == "in_ifsc":
        return f"IN:{normalise(details['ifsc'])}:{normalise(details['account_number'])}"
    raise ValueError(f"no account identifiers defined for scheme {scheme!r}")


def details_fingerprint(scheme: str, details: Mapping[str, str]) -> str:
    """64 hex characters: HMAC-SHA256 of the canonical account identifiers."""
    canonical = account_canonical(scheme, details).encode("utf-8")
    return hmac.new(_key(), canonical, hashlib.sha256).hexdigest()


def fingerprints_refresh(model: type[Any], *, batch_size: int = 500) -> int:
    """Recompute every beneficiary's fingerprint from its decrypted details; returns how many
    changed. `model` is Beneficiary, or the historical model in a data migration (its
    `bank_details` is the same encrypted field class, so it decrypts with the same keys)."""
    changed = []
    rows = model.objects.order_by("pk").only("pk", "scheme", "bank_details", "details_fingerprint")
    for row in rows.iterator(chunk_size=batch_size):
        fingerprint = details_fingerprint(row.scheme, row.bank_details)
        if fingerprint != row.details_fingerprint:
            row.details_fingerprint = fingerprint
            changed.append(row)
    model.objects.bulk_update(changed, ["details_fingerprint"], batch_size=batch_size)
    return len(changed)
