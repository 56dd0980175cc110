"""The audit trail in the admin: read-only, for support, compliance, finance and admin (not
engineering), filtered by actor, object and time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from fintech.core.models import AuditEvent
from fintech.core.services import Actor, audit_record
from tests.builders import build_user

pytestmark = pytest.mark.django_db

URL = "/admin/core/auditevent/"


def staff_client(role: str) -> Client:
    user = build_user(f"{role}-staff", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def trail(alice_user, bob_user):
    ops_actor = Actor(label="user:ops", request_id="req-1")
    first = audit_record(actor=ops_actor, action="profile.verify", target=alice_user, reason="KYB")
    second = audit_record(actor=Actor.system("relay"), action="profile.flag", target=bob_user)
    old = audit_record(actor=ops_actor, action="profile.note", target=bob_user)
    AuditEvent.objects.filter(pk=old.pk).update(occurred_at=timezone.now() - dt.timedelta(days=3))
    return first, second, old


def rows(response) -> str:
    """The result table only (the filter sidebar lists every action too)."""
    assert response.status_code == 200
    page = response.content.decode()
    return page[page.index("<tbody>") : page.index("</tbody>")]


@pytest.mark.parametrize("role", ["support", "compliance", "finance", "admin"])
def test_the_roles_that_answer_customers_see_the_trail(role, trail) -> None:
    page = rows(staff_client(role).get(URL))
    assert "profile.verify" in page
    assert "profile.flag" in page


def test_engineering_does_not(trail) -> None:
    assert staff_client("engineering").get(URL).status_code == 403


def test_nobody_adds_changes_or_deletes(trail) -> None:
    client = staff_client("admin")
    first = trail[0]
    assert client.get(f"{URL}add/").status_code == 403
    assert client.post(f"{URL}{first.pk}/change/", {"reason": "edited"}).status_code == 403
    assert client.post(f"{URL}{first.pk}/delete/", {"post": "yes"}).status_code == 403
    first.refresh_from_db()
    assert first.reason == "KYB"
    viewed = client.get(f"{URL}{first.pk}/change/")
    assert viewed.status_code == 200
    assert "KYB" in viewed.content.decode()


def test_filters_by_actor_object_and_time(trail, alice_user, bob_user) -> None:
    client = staff_client("support")
    by_actor = rows(client.get(URL, {"actor_label": "user:ops"}))
    assert "profile.verify" in by_actor
    assert "profile.flag" not in by_actor
    by_kind = rows(client.get(URL, {"actor_kind": "system"}))
    assert "profile.flag" in by_kind
    assert "profile.verify" not in by_kind
    by_object = rows(client.get(URL, {"target_type": "auth.user", "target_id": str(bob_user.pk)}))
    assert "profile.flag" in by_object
    assert "profile.note" in by_object
    assert "profile.verify" not in by_object
    recent = rows(client.get(URL, {"recent": "24h"}))
    assert "profile.verify" in recent
    assert "profile.note" not in recent


def test_each_row_links_to_its_actor_and_objects_history(trail, alice_user) -> None:
    page = rows(staff_client("support").get(URL))
    assert "?actor_label=user%3Aops" in page
    assert f"?target_type=auth.user&amp;target_id={alice_user.pk}" in page
