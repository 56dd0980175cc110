"""The screening console: compliance officers decide hits with a note; support never sees
them; lists and entries are read-only."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.urls import reverse

from fintech.compliance.models import CaseItem, ScreeningHit
from fintech.core.models import AuditEvent
from tests.builders import build_beneficiary, build_user
from tests.compliance.sanctions import OFAC_V1, load

pytestmark = pytest.mark.django_db

HITS = "admin:compliance_screeninghit_changelist"


def staff(username: str, role: str):
    user = build_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def hit(alice) -> ScreeningHit:
    load("ofac", OFAC_V1)
    beneficiary = build_beneficiary(
        profile=alice, currency="EUR", holder_name="Blue Horizon Trading FZE"
    )
    return ScreeningHit.objects.get(subject_id=beneficiary.pk)


def test_a_compliance_officer_clears_a_hit_not_in_a_case_with_a_note(client, hit) -> None:
    # A hit raised before cases existed (every hit now joins a case, decided there:
    # tests/compliance/test_case_admin.py): its case item is taken away to stand for one.
    CaseItem.objects.filter(source="screening_hit", source_id=hit.pk).delete()
    carla = staff("carla", "compliance")
    client.force_login(carla)

    page = client.get(reverse(HITS))
    assert page.status_code == 200
    assert b"Blue Horizon Trading FZE" in page.content

    data = {"action": "clear", ACTION_CHECKBOX_NAME: [hit.pk]}
    asked = client.post(reverse(HITS), data)
    assert b"Reason" in asked.content
    hit.refresh_from_db()
    assert hit.status == "open"

    client.post(reverse(HITS), {**data, "confirm": "yes", "reason": "UK company, no link"})
    hit.refresh_from_db()
    assert (hit.status, hit.decided_by, hit.note) == (
        "cleared",
        "user:carla",
        "UK company, no link",
    )
    assert AuditEvent.objects.get(action="screening.hit_cleared").actor_id == carla.pk


def test_support_sees_neither_hits_nor_their_history(client, hit) -> None:
    client.force_login(staff("sam", "support"))
    assert client.get(reverse(HITS)).status_code == 403
    assert (
        client.get(reverse("admin:compliance_sanctionslistversion_changelist")).status_code == 200
    )
    # Nor the audit rows that say why: the trail and its CSV export leave them out.
    trail = reverse("admin:core_auditevent_changelist")
    assert AuditEvent.objects.filter(action="screening.hit_opened").exists()
    page = client.get(trail)
    assert page.status_code == 200
    assert b"screening.hit_opened" not in page.content
    export = client.get(reverse("admin:core_auditevent_export"))
    assert export.status_code == 200
    assert "screening." not in b"".join(export.streaming_content).decode()


def test_compliance_sees_the_hits_history_in_the_audit_trail(client, hit) -> None:
    client.force_login(staff("carla", "compliance"))
    page = client.get(reverse("admin:core_auditevent_changelist"))
    assert page.status_code == 200
    assert b"screening.hit_opened" in page.content


def test_list_versions_are_read_only(client, ops, hit) -> None:
    client.force_login(ops)
    version = hit.version
    page = client.get(reverse("admin:compliance_sanctionslistversion_change", args=[version.pk]))
    assert page.status_code == 200
    assert b"OFAC SDN v1" in page.content
    assert b'name="_save"' not in page.content
