"""Screening: who hits, who is discarded, what a hit holds, and what a cleared hit remembers."""

from __future__ import annotations

import pytest

from fintech.compliance.models import ScreeningHit
from fintech.compliance.screening.matching import EntryView, Matcher, Subject
from fintech.compliance.screening.names import name_normalise
from fintech.compliance.screening.services import (
    sanctions_rescreen_due,
    screening_hit_clear,
    screening_hit_confirm,
)
from fintech.core.errors import ScreeningHold, TransitionNotAllowed, ValidationFailed
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.customers.models import Profile
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_create, transfer_fund, transfer_submit
from tests.builders import build_beneficiary, build_profile
from tests.compliance.sanctions import LOADER, OFAC_V1, OFAC_V2, OPENSANCTIONS, UN, load
from tests.transfers.conftest import ALICE, OPS, quote_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def lists() -> None:
    load("ofac", OFAC_V1)
    load("un", UN)
    load("opensanctions", OPENSANCTIONS)


def hits_on(obj) -> list[ScreeningHit]:
    return list(ScreeningHit.objects.filter(subject_id=obj.pk).select_related("entry"))


@pytest.mark.parametrize(
    ("holder_name", "external_id"),
    [
        ("Ivan Sergeyevich Petrov", "90001"),  # exact
        ("PETROV, Ivan Sergeyevich", "90001"),  # word order
        ("Ivan Petrof", "90001"),  # a typo, and the middle name missing
        ("Иван Петров", "90001"),  # Cyrillic: transliterated
        ("Виктор Соколов", "NK-7Qb3vSokolov"),  # Cyrillic against a Latin-only match
        ("Victor Sokolov", "NK-7Qb3vSokolov"),
        ("Blue Horizon Trading FZE", "90002"),
        ("Abdul Karim Hasan", "6908001"),
        ("Golden Crescent Exports Limited", "NK-GcExports"),  # legal form spelt out
    ],
)
def test_it_hits_exact_transliterated_reordered_and_typod_names(
    lists, alice, holder_name: str, external_id: str
) -> None:
    beneficiary = build_beneficiary(profile=alice, currency="EUR", holder_name=holder_name)

    [hit] = hits_on(beneficiary)
    assert hit.entry.external_id == external_id
    assert hit.status == ScreeningHit.Status.OPEN
    assert (hit.subject_type, hit.profile_id) == ("beneficiary", alice.pk)
    assert hit.version == hit.entry.changed_in


@pytest.mark.parametrize(
    "holder_name", ["Acme Supplies Ltd", "Ivan Ivanov", "Karim", "Viktoria Sokolova Designs"]
)
def test_other_names_do_not_hit(lists, alice, holder_name: str) -> None:
    beneficiary = build_beneficiary(profile=alice, currency="EUR", holder_name=holder_name)
    assert hits_on(beneficiary) == []


def test_a_different_country_discards_a_common_name(lists) -> None:
    in_britain = build_profile(kind=Profile.Kind.PERSONAL, legal_name="Mary Williams", country="GB")
    in_venezuela = build_profile(
        kind=Profile.Kind.PERSONAL, legal_name="Mary Williams", country="VE"
    )

    assert hits_on(in_britain) == []
    [hit] = hits_on(in_venezuela)
    assert (hit.subject_type, hit.entry.external_id) == ("profile", "90005")


def entry(**overrides) -> EntryView:
    data = {
        "id": 1,
        "content_hash": "h",
        "names": ["Mary WILLIAMS"],
        "names_normalised": ["mary williams"],
        "birth_dates": ["1950-01-01"],
        "countries": [],
    }
    data.update(overrides)
    return EntryView(**data)


@pytest.mark.parametrize(
    ("subject_birth_date", "entry_birth_dates", "hits"),
    [
        ("1980-05-05", ["1950-01-01"], False),  # both known, they differ: discarded
        ("1950-01-01", ["1950-01-01"], True),
        ("1950-07-01", ["1950"], True),  # the list knows only the year
        ("1951-01-01", ["1950", "1951-01-01"], True),  # any of several dates
        ("", ["1950-01-01"], True),  # unknown on one side never discards
        ("1980-05-05", [], True),
    ],
)
def test_a_different_date_of_birth_discards(
    subject_birth_date: str, entry_birth_dates: list[str], hits: bool
) -> None:
    matcher = Matcher([entry(birth_dates=entry_birth_dates)], threshold=85)
    subject = Subject("profile", 1, 1, "Mary Williams", birth_date=subject_birth_date)
    assert bool(matcher.match([subject])) is hits


def test_a_lone_given_name_does_not_match_every_full_name() -> None:
    matcher = Matcher(
        [entry(names=["Ali Hassan"], names_normalised=["ali hassan"], birth_dates=[])],
        threshold=85,
    )
    assert matcher.match([Subject("beneficiary", 1, 1, "Ali")]) == []
    assert len(matcher.match([Subject("beneficiary", 1, 1, "Hassan Ali")])) == 1


def test_members_are_screened_by_their_full_name(lists, alice) -> None:
    from fintech.customers.services import membership_add
    from tests.builders import build_user

    user = build_user("elena")
    user.first_name, user.last_name = "Yelena", "Volkova"
    user.save()
    membership = membership_add(actor=ALICE, profile=alice, user=user, role="member")

    [hit] = hits_on(membership)
    assert (hit.subject_type, hit.entry.external_id) == ("member", "6908002")
    with pytest.raises(ScreeningHold, match=f"profile {alice.pk} on a compliance screening hold"):
        transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=quote_for(alice).pk,
            beneficiary_id=build_beneficiary(profile=alice, currency="EUR").pk,
            customer_transaction_id="INV-HELD-1",
        )


def test_a_held_beneficiary_cannot_be_paid(lists, alice) -> None:
    held = build_beneficiary(profile=alice, currency="EUR", holder_name="Blue Horizon Trading FZE")

    with pytest.raises(ScreeningHold) as refused:
        transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=quote_for(alice).pk,
            beneficiary_id=held.pk,
            customer_transaction_id="INV-HELD-2",
        )
    assert refused.value.code == "screening_hold"
    assert refused.value.status == 409
    # The customer is told what is held, never against which list or name.
    assert "Horizon" not in refused.value.message
    assert "OFAC" not in refused.value.message
    assert Transfer.objects.count() == 0


def test_a_list_update_holds_a_funded_transfer_before_payout(alice) -> None:
    load("ofac", OFAC_V1)
    northwind = build_beneficiary(
        profile=alice, currency="EUR", holder_name="Northwind Logistics Ltd"
    )
    transfer = transfer_create(
        actor=ALICE,
        profile=alice,
        quote_id=quote_for(alice).pk,
        beneficiary_id=northwind.pk,
        customer_transaction_id="INV-NW-1",
    )
    transfer_fund(actor=OPS, transfer_id=transfer.pk)
    sanctions_rescreen_due()  # v1's rescreen: nothing on Northwind yet
    assert hits_on(northwind) == []

    load("ofac", OFAC_V2)  # lists NORTHWIND LOGISTICS LIMITED
    assert sanctions_rescreen_due() == 1
    [hit] = hits_on(northwind)

    with pytest.raises(ScreeningHold, match=f"beneficiary {northwind.pk}"):
        transfer_submit(actor=OPS, transfer_id=transfer.pk)
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.FUNDED

    screening_hit_clear(actor=LOADER, hit=hit, note="different company: Northwind Logistics UK")
    transfer_submit(actor=OPS, transfer_id=transfer.pk)
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.PROCESSING


def test_a_cleared_hit_is_not_raised_again_until_the_entry_changes(alice) -> None:
    load("ofac", OFAC_V1)
    beneficiary = build_beneficiary(profile=alice, currency="EUR", holder_name="Ivan Petrov")
    [first] = hits_on(beneficiary)
    screening_hit_clear(actor=LOADER, hit=first, note="born 1990 per passport; not the listed man")

    load("un", UN)  # another list loaded: everyone rescreened
    assert sanctions_rescreen_due() == 0
    assert [h.status for h in hits_on(beneficiary)] == ["cleared"]

    load("ofac", OFAC_V2)  # Petrov's entry changed (a new alias)
    assert sanctions_rescreen_due() == 1
    again = ScreeningHit.objects.get(subject_id=beneficiary.pk, status="open")
    assert again.entry_id == first.entry_id
    assert again.entry_hash != first.entry_hash

    events = list(
        OutboxEvent.objects.filter(type__startswith="screening.").values_list("type", "profile_id")
    )
    assert events == [
        ("screening.hit_opened", None),
        ("screening.hit_cleared", None),
        ("screening.hit_opened", None),
    ]


def test_a_rescreen_is_done_once_and_raises_only_new_hits(alice) -> None:
    build_beneficiary(profile=alice, currency="EUR", holder_name="Abdul Karim Hassan")
    build_beneficiary(profile=alice, currency="EUR", holder_name="Viktor Sokolov")
    load("un", UN)

    assert sanctions_rescreen_due() == 1
    assert sanctions_rescreen_due() == 0  # nothing due any more
    load("opensanctions", OPENSANCTIONS)
    assert sanctions_rescreen_due() == 1  # Sokolov; Karim's hit is not raised twice
    assert ScreeningHit.objects.count() == 2


def test_decisions_need_a_note_are_audited_and_happen_once(lists, alice) -> None:
    beneficiary = build_beneficiary(profile=alice, currency="EUR", holder_name="Viktor Sokolov")
    [hit] = hits_on(beneficiary)

    with pytest.raises(ValidationFailed, match="note"):
        screening_hit_confirm(actor=LOADER, hit=hit, note="  ")
    confirmed = screening_hit_confirm(actor=LOADER, hit=hit, note="same date of birth, same name")
    assert (confirmed.status, confirmed.decided_by) == ("confirmed", "user:carla")
    with pytest.raises(TransitionNotAllowed):
        screening_hit_clear(actor=LOADER, hit=hit, note="changed my mind")

    actions = list(
        AuditEvent.objects.filter(target_id=str(hit.pk), action__startswith="screening.")
        .order_by("id")
        .values_list("action", "reason")
    )
    assert actions == [
        ("screening.hit_opened", ""),
        ("screening.hit_confirmed", "same date of birth, same name"),
    ]
    # Confirmed still holds.
    with pytest.raises(ScreeningHold):
        transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=quote_for(alice).pk,
            beneficiary_id=beneficiary.pk,
            customer_transaction_id="INV-HELD-3",
        )


def test_names_normalise_to_ascii_words() -> None:
    assert name_normalise("  O'Brien-Smith,  Jöhn ") == "o brien smith john"
    assert name_normalise("Владимир Путин") == "vladimir putin"
    assert name_normalise("ACME Holdings Ltd.") == "acme holdings"
