"""Helpers for the case tests: officers, and a held beneficiary that opens a case."""

from __future__ import annotations

from django.contrib.auth.models import Group

from fintech.compliance.models import Case, ScreeningHit
from fintech.compliance.screening.services import sanctions_rescreen_due
from fintech.core.services import Actor
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_create, transfer_fund
from tests.builders import build_beneficiary, build_user
from tests.compliance.sanctions import OFAC_V1, OFAC_V2, load
from tests.transfers.conftest import ALICE, OPS, quote_for

LISTED = ["Blue Horizon Trading FZE", "Viktor Sokolov", "Ivan Petrov"]


def officer(username: str, role: str = "compliance"):
    user = build_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def actor_of(user) -> Actor:
    return Actor.for_user(user, request_id=f"req-{user.username}")


def held_beneficiary(profile, name: str = "Blue Horizon Trading FZE"):
    """A beneficiary whose holder is listed: its hit opens (or joins) the profile's case."""
    beneficiary = build_beneficiary(profile=profile, currency="EUR", holder_name=name)
    hit = ScreeningHit.objects.get(subject_id=beneficiary.pk, subject_type="beneficiary")
    return beneficiary, hit


def case_of(profile) -> Case:
    return Case.objects.get(profile=profile)


def funded_then_held(alice) -> tuple[Transfer, Transfer]:
    """A funded and a created transfer to Northwind, then a list update holds them both."""
    load("ofac", OFAC_V1)
    northwind = build_beneficiary(
        profile=alice, currency="EUR", holder_name="Northwind Logistics Ltd"
    )
    made = [
        transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=quote_for(alice).pk,
            beneficiary_id=northwind.pk,
            customer_transaction_id=f"INV-HELD-{n}",
        )
        for n in (1, 2)
    ]
    transfer_fund(actor=OPS, transfer_id=made[0].pk)
    sanctions_rescreen_due()
    load("ofac", OFAC_V2)
    assert sanctions_rescreen_due() == 1
    return made[0], made[1]
