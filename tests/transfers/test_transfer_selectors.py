"""transfer_get / transfer_list / transfer_timeline: scoped to the profile, filters that work."""

import datetime as dt

import pytest
import time_machine

from fintech.core.errors import NotFound, ValidationFailed
from fintech.transfers.selectors import transfer_get, transfer_list, transfer_timeline
from fintech.transfers.services import transfer_create
from tests.builders import build_beneficiary, build_profile
from tests.transfers.conftest import ALICE, quote_for

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def test_get_by_id_or_reference(alice, make_transfer) -> None:
    transfer = make_transfer()
    assert transfer_get(alice, transfer.pk) == transfer
    assert transfer_get(alice, str(transfer.pk)) == transfer
    assert transfer_get(alice, transfer.reference) == transfer
    assert transfer_get(alice, transfer.reference.lower()) == transfer


@pytest.mark.parametrize("key", ["TR0000000000", "999999", "", "nonsense"])
def test_get_unknown_is_not_found(alice, key) -> None:
    with pytest.raises(NotFound):
        transfer_get(alice, key)


def test_another_profiles_transfer_is_not_found(make_transfer) -> None:
    transfer = make_transfer()
    carol = build_profile(legal_name="Carol Imports Ltd")
    with pytest.raises(NotFound):
        transfer_get(carol, transfer.pk)
    with pytest.raises(NotFound):
        transfer_get(carol, transfer.reference)
    assert list(transfer_list(carol)) == []


def test_list_filters_by_state_currency_and_creation_time(alice, make_transfer) -> None:
    with time_machine.travel(MONDAY, tick=False):
        monday_eur = make_transfer("funded")
    with time_machine.travel(MONDAY + dt.timedelta(days=1), tick=False):
        tuesday_eur = make_transfer("created")
        inr = build_beneficiary(profile=alice, currency="INR")
        tuesday_inr = transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=quote_for(alice, target="INR").pk,
            beneficiary_id=inr.pk,
            customer_transaction_id="INV-INR",
        )

    assert list(transfer_list(alice)) == [tuesday_inr, tuesday_eur, monday_eur]
    assert list(transfer_list(alice, state="funded")) == [monday_eur]
    assert list(transfer_list(alice, currency="INR")) == [tuesday_inr]
    assert list(transfer_list(alice, currency="GBP")) == [tuesday_inr, tuesday_eur, monday_eur]
    assert list(transfer_list(alice, currency="EUR", state="created")) == [tuesday_eur]
    assert list(transfer_list(alice, created_to=MONDAY + dt.timedelta(days=1))) == [monday_eur]
    assert list(transfer_list(alice, created_from=MONDAY + dt.timedelta(days=1))) == [
        tuesday_inr,
        tuesday_eur,
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"state": "lost"}, "state"), ({"currency": "XYZ"}, "currency")]
)
def test_list_refuses_unknown_filters_naming_them(alice, kwargs, field) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        transfer_list(alice, **kwargs)
    assert [f.field for f in excinfo.value.fields] == [field]


def test_the_timeline_tells_the_whole_story_in_order(make_transfer) -> None:
    transfer = make_transfer("refunded")
    story = [(t.transition, t.source_state, t.target_state) for t in transfer_timeline(transfer)]
    assert story == [
        ("create", "", "created"),
        ("fund", "created", "funded"),
        ("submit", "funded", "processing"),
        ("complete", "processing", "completed"),
        ("refund", "completed", "refunded"),
    ]
