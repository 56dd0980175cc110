"""The profile and membership console: adding goes through the services, existing rows are
read-only, and the lists do not grow a query per row."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fintech.core.models import AuditEvent, OutboxEvent
from fintech.customers.models import Membership, Profile
from tests.builders import build_profile, build_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url_name", ["admin:customers_profile_changelist", "admin:customers_membership_changelist"]
)
def test_lists_have_no_query_per_row(ops_client, alice, bob, url_name) -> None:
    url = reverse(url_name)
    few = queries_for(ops_client, url)
    for _ in range(5):
        build_profile(owner=build_user())
    assert queries_for(ops_client, url) == few


def test_profile_list_filters_and_search(ops_client, alice, bob) -> None:
    url = reverse("admin:customers_profile_changelist")
    response = ops_client.get(url, {"compliance__state__exact": "pending"})
    assert b"Bob Example" in response.content
    assert b"Alice Trading Ltd" not in response.content
    response = ops_client.get(url, {"q": alice.registration_number})
    assert b"Alice Trading Ltd" in response.content
    assert b"Bob Example" not in response.content


def test_profile_change_page_is_read_only_with_members(ops_client, alice) -> None:
    response = ops_client.get(reverse("admin:customers_profile_change", args=[alice.pk]))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert b"alice" in response.content  # the membership inline
    assert b"Verified" in response.content


def test_adding_a_profile_goes_through_the_service(ops_client) -> None:
    data = {
        "kind": "business",
        "legal_name": "Console Made Ltd",
        "registration_number": "12345678",
        "country": "fr",
        "address_line1": "1 Rue de Rivoli",
        "address_line2": "",
        "city": "Paris",
        "postal_code": "75001",
        "email": "ops@console.example",
    }
    response = ops_client.post(reverse("admin:customers_profile_add"), data)

    assert response.status_code == 302
    profile = Profile.objects.get(legal_name="Console Made Ltd")
    assert profile.country == "FR"
    assert profile.compliance.state == "unverified"
    assert AuditEvent.objects.filter(action="profile.created", target_id=str(profile.pk)).exists()
    assert OutboxEvent.objects.filter(type="customer.created", profile_id=profile.pk).exists()


def test_adding_a_bad_profile_shows_the_service_errors(ops_client) -> None:
    before = Profile.objects.count()
    data = {"kind": "business", "legal_name": "X", "registration_number": "", "country": "ZZ",
            "address_line1": "a", "city": "b", "postal_code": "", "email": "nope"}  # fmt: skip
    response = ops_client.post(reverse("admin:customers_profile_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"registration_number", "country", "email"}
    assert Profile.objects.count() == before


def test_adding_a_member_goes_through_the_service(ops_client, alice) -> None:
    carol = build_user("carol")
    data = {"profile": alice.pk, "user": carol.pk, "role": "viewer"}
    response = ops_client.post(reverse("admin:customers_membership_add"), data)
    assert response.status_code == 302
    membership = Membership.objects.get(profile=alice, user=carol)
    assert AuditEvent.objects.filter(
        action="membership.added", target_id=str(membership.pk)
    ).exists()


def test_removing_members_asks_for_a_reason_and_keeps_the_last_owner(
    ops_client, alice, alice_user
) -> None:
    owner = Membership.objects.get(profile=alice, user=alice_user)
    url = reverse("admin:customers_membership_changelist")
    data = {"action": "remove_members", ACTION_CHECKBOX_NAME: [owner.pk]}
    assert b"Reason" in ops_client.post(url, data).content

    response = ops_client.post(url, {**data, "confirm": "yes", "reason": "left"}, follow=True)
    assert Membership.objects.filter(pk=owner.pk).exists()
    assert b"last owner" in response.content
