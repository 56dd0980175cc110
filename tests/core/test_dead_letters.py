"""Dead letters: a drain parks what it cannot process; engineering and admins see an excerpt
and mark each resolved with a note (audited); support sees nothing of it."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.urls import reverse

from fintech.core.admin import EXCERPT_CHARS
from fintech.core.dead_letters import dead_letter_record, text_storable
from fintech.core.models import AuditEvent, DeadLetter
from tests.builders import build_user

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:core_deadletter_changelist"


def park(reference: str = "row-1", payload: object = "x") -> DeadLetter:
    letter = dead_letter_record(
        source="test.drain", reference=reference, payload=payload, error=ValueError("bad\x00row")
    )
    assert letter is not None
    return letter


def staff(name: str, role: str):
    user = build_user(name, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_nul_bytes_are_escaped_not_lost() -> None:
    assert text_storable("a\x00b") == "a\\x00b"
    letter = park(payload=b"raw\x00bytes")
    letter.refresh_from_db()
    assert letter.payload == "raw\\x00bytes"
    assert (letter.error_class, letter.error_message) == ("builtins.ValueError", "bad\\x00row")


def test_a_payload_that_is_not_text_is_stored_as_json() -> None:
    assert park(payload={"id": 7, "amount": "1.00"}).payload == '{"amount": "1.00", "id": 7}'


def test_engineering_sees_an_excerpt_and_resolves_with_a_note(client) -> None:
    letter = park(payload="p" * (EXCERPT_CHARS + 500))
    park(reference="row-2")
    erin = staff("erin", "engineering")
    client.force_login(erin)

    page = client.get(reverse(CHANGELIST) + "?state=open&source=test.drain")
    assert page.status_code == 200
    assert b"row-1" in page.content
    assert b"row-2" in page.content
    detail = client.get(reverse("admin:core_deadletter_change", args=[letter.pk]))
    assert detail.status_code == 200
    assert b"p" * EXCERPT_CHARS in detail.content
    assert b"p" * (EXCERPT_CHARS + 1) not in detail.content

    data = {"action": "resolve", ACTION_CHECKBOX_NAME: [letter.pk]}
    asked = client.post(reverse(CHANGELIST), data)
    assert b"Reason" in asked.content  # a note is asked for first
    assert DeadLetter.objects.get(pk=letter.pk).resolved_at is None
    done = client.post(
        reverse(CHANGELIST), {**data, "confirm": "yes", "reason": "bad client, fixed"}, follow=True
    )
    assert b"resolved." in done.content

    letter.refresh_from_db()
    assert letter.resolved_at is not None
    assert (letter.resolved_by_id, letter.resolution_note) == (erin.pk, "bad client, fixed")
    audit = AuditEvent.objects.get(action="dead_letter.resolve")
    assert (audit.actor_id, audit.reason, audit.target_id) == (
        erin.pk,
        "bad client, fixed",
        str(letter.pk),
    )
    still_open = client.get(reverse(CHANGELIST) + "?state=open")
    assert b"row-2" in still_open.content
    assert b"row-1" not in still_open.content


def test_support_cannot_see_dead_letters(client) -> None:
    park()
    client.force_login(staff("sam", "support"))
    assert client.get(reverse(CHANGELIST)).status_code == 403
