"""membership_add / membership_remove and the selectors that scope profiles to their members."""

from __future__ import annotations

import pytest

from fintech.core.errors import Conflict, NotFound, ValidationFailed
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.customers.models import Membership
from fintech.customers.selectors import profile_get_for_user, profiles_for_user
from fintech.customers.services import membership_add, membership_remove
from tests.builders import build_profile, build_user

pytestmark = pytest.mark.django_db


def test_add_member_audits_and_emits(alice, ops_actor) -> None:
    carol = build_user("carol")

    membership = membership_add(actor=ops_actor, profile=alice, user=carol, role="viewer")

    assert membership.role == Membership.Role.VIEWER
    audit = AuditEvent.objects.get(action="membership.added", target_id=str(membership.pk))
    assert audit.data == {"profile_id": alice.pk, "user_id": carol.pk, "role": "viewer"}
    assert OutboxEvent.objects.filter(type="customer.member_added", profile_id=alice.pk).exists()


def test_adding_the_same_member_twice_is_a_conflict(alice, alice_user, ops_actor) -> None:
    before = Membership.objects.count()
    with pytest.raises(Conflict) as caught:
        membership_add(actor=ops_actor, profile=alice, user=alice_user, role="admin")
    assert caught.value.status == 409
    assert [f.field for f in caught.value.fields] == ["user"]
    assert Membership.objects.count() == before


def test_unknown_role_is_refused(alice, ops_actor) -> None:
    with pytest.raises(ValidationFailed) as caught:
        membership_add(actor=ops_actor, profile=alice, user=build_user(), role="god")
    assert [f.field for f in caught.value.fields] == ["role"]


def test_the_last_owner_cannot_be_removed(alice, alice_user, ops_actor) -> None:
    owner = Membership.objects.get(profile=alice, user=alice_user)
    with pytest.raises(Conflict):
        membership_remove(actor=ops_actor, membership=owner, reason="leaving")
    assert Membership.objects.filter(pk=owner.pk).exists()

    membership_add(actor=ops_actor, profile=alice, user=build_user("dave"), role="owner")
    membership_remove(actor=ops_actor, membership=owner, reason="leaving")
    assert not Membership.objects.filter(pk=owner.pk).exists()
    assert AuditEvent.objects.get(action="membership.removed").reason == "leaving"
    assert OutboxEvent.objects.filter(type="customer.member_removed").count() == 1


def test_removing_a_missing_membership_is_not_found(ops_actor) -> None:
    with pytest.raises(NotFound):
        membership_remove(actor=ops_actor, membership=999_999)


def test_users_see_only_their_profiles(alice, alice_user, bob, bob_user) -> None:
    assert list(profiles_for_user(user=alice_user)) == [alice]
    assert profile_get_for_user(user=alice_user, profile_id=alice.pk) == alice
    with pytest.raises(NotFound):
        profile_get_for_user(user=alice_user, profile_id=bob.pk)
    with pytest.raises(NotFound):
        profile_get_for_user(user=bob_user, profile_id="not-a-number")


def test_a_user_may_belong_to_several_profiles(alice_user, ops_actor) -> None:
    first = build_profile(owner=alice_user, legal_name="A First Ltd")
    second = build_profile(legal_name="B Second Ltd")
    membership_add(actor=ops_actor, profile=second, user=alice_user, role="member")
    assert list(profiles_for_user(user=alice_user)) == [first, second]
