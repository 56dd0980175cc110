"""The audit trail's CSV export from its admin: filtered by actor, object and time range,
bounded by AUDIT_EXPORT_MAX_DAYS, streamed from a server-side cursor, for the roles that may
view the trail only, and itself audited. People: support (may view the trail), engineering
(may not), alice and bob (whose objects the trail is about)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client, override_settings
from django.utils import timezone

from fintech.core.models import AuditEvent
from fintech.core.services import Actor, audit_record
from tests.builders import build_user

pytestmark = pytest.mark.django_db

URL = "/admin/core/auditevent/export/"


def staff_client(role: str) -> Client:
    user = build_user(f"{role}-staff", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def exported(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def at(event: AuditEvent, when: dt.datetime) -> AuditEvent:
    AuditEvent.objects.filter(pk=event.pk).update(occurred_at=when)
    return event


@pytest.fixture
def trail(alice_user, bob_user):
    now = timezone.now()
    ops = Actor(label="user:ops", request_id="req-1")
    relay = Actor.system("relay")
    return {
        "verify": audit_record(actor=ops, action="profile.verify", target=alice_user, reason="KYB"),
        "flag": audit_record(actor=relay, action="profile.flag", target=bob_user),
        "old": at(
            audit_record(actor=ops, action="profile.note", target=bob_user),
            now - dt.timedelta(days=3),
        ),
        "ancient": at(
            audit_record(actor=ops, action="profile.close", target=bob_user),
            now - dt.timedelta(days=200),
        ),
    }


def test_by_default_the_last_max_days_in_time_order(trail) -> None:
    rows = exported(staff_client("support").get(URL))
    # The exporter's own sign-in is in the trail too (last: it happened after the fixture).
    assert [r["action"] for r in rows] == [
        "profile.note",
        "profile.verify",
        "profile.flag",
        "login.succeeded",
    ]
    verify = rows[1]
    assert verify["actor_label"] == "user:ops"
    assert verify["target_type"] == "auth.user"
    assert (verify["reason"], verify["request_id"]) == ("KYB", "req-1")
    assert verify["occurred_at"].startswith(str(timezone.now().year))


def test_filters_by_actor_object_and_time_range(trail, bob_user) -> None:
    client = staff_client("support")
    by_actor = exported(client.get(URL, {"actor_label": "system:relay"}))
    assert [r["action"] for r in by_actor] == ["profile.flag"]

    by_object = exported(
        client.get(URL, {"target_type": "auth.user", "target_id": str(bob_user.pk)})
    )
    assert [r["action"] for r in by_object] == ["profile.note", "profile.flag"]

    today = timezone.now().date()
    last_week = exported(
        client.get(
            URL,
            {
                "since": str(today - dt.timedelta(days=7)),
                "until": str(today - dt.timedelta(days=1)),
            },
        )
    )
    assert [r["action"] for r in last_week] == ["profile.note"]

    long_ago = (timezone.now() - dt.timedelta(days=200)).date()
    then = exported(client.get(URL, {"since": str(long_ago), "until": str(long_ago)}))
    assert [r["action"] for r in then] == ["profile.close"]


def test_the_export_is_itself_audited(trail) -> None:
    client = staff_client("support")
    since = (timezone.now() - dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    exported(client.get(URL, {"actor_label": "user:ops", "since": since}))
    record = AuditEvent.objects.get(action="audit.exported")
    assert record.actor_label == "user:support-staff"
    assert (record.target_type, record.target_id) == ("core.auditevent", "export")
    assert record.data["actor_label"] == "user:ops"
    assert record.data["since"].startswith(since)
    assert "until" in record.data


@override_settings(AUDIT_EXPORT_MAX_DAYS=31)
def test_a_range_wider_than_the_maximum_is_refused_with_a_clear_message(trail) -> None:
    client = staff_client("support")
    response = client.get(
        URL, {"since": "2026-01-01", "until": "2026-03-01", "actor_label": "user:ops"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/core/auditevent/?actor_label=user%3Aops"
    page = client.get(response["Location"]).content.decode()
    assert "Not exported: The range 2026-01-01 00:00 to 2026-03-02 00:00 is wider than the" in page
    assert "31-day maximum (AUDIT_EXPORT_MAX_DAYS)" in page
    assert not AuditEvent.objects.filter(action="audit.exported").exists()

    bad = client.get(URL, {"since": "last tuesday"}, follow=True).content.decode()
    assert "is not a date" in bad
    inverted = client.get(URL, {"since": "2026-02-01", "until": "2026-01-01"}, follow=True)
    assert "The range is empty" in inverted.content.decode()


def test_a_role_without_the_audit_view_permission_gets_403_and_no_rows(trail) -> None:
    response = staff_client("engineering").get(URL)
    assert response.status_code == 403
    assert b"profile.verify" not in response.content
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_customers_and_anonymous_callers_are_sent_to_the_login(trail, alice_user) -> None:
    customer = Client()
    customer.force_login(alice_user)
    for client in (customer, Client()):
        response = client.get(URL)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_formulas_are_defused_for_spreadsheets(alice_user) -> None:
    audit_record(
        actor=Actor.system("t"),
        action="profile.note",
        target=alice_user,
        reason='=HYPERLINK("http://evil.example","x")',
    )
    rows = exported(staff_client("support").get(URL))
    assert rows[0]["reason"] == '\'=HYPERLINK("http://evil.example","x")'


def test_a_large_export_streams_from_a_server_side_cursor(alice_user) -> None:
    template = audit_record(actor=Actor.system("bulk"), action="bulk.row", target=alice_user)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor_label="system:bulk",
            action="bulk.row",
            target_type=template.target_type,
            target_id=str(n),
        )
        for n in range(4500)
    )
    response = staff_client("support").get(URL, {"actor_label": "system:bulk"})
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')

    lines = iter(response.streaming_content)
    assert next(lines).startswith(b"occurred_at,actor_label,action")
    assert b"bulk.row" in next(lines)
    # Mid-stream: the rows come through a named (server-side) cursor Django declared, not a
    # list fetched whole; 4,501 rows are more than one chunk, so it is still open.
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        assert cursor.fetchall(), "no server-side cursor open during the export"
    rest = sum(1 for _ in lines)
    assert rest == 4501 - 1


def test_the_list_offers_the_export_with_its_actor_and_object_filters(trail, bob_user) -> None:
    client = staff_client("support")
    page = client.get(
        "/admin/core/auditevent/",
        {"target_type": "auth.user", "target_id": str(bob_user.pk), "action": "profile.note"},
    ).content.decode()
    link = f'href="{URL}?target_type=auth.user&amp;target_id={bob_user.pk}"'
    assert link in page
    assert "Export CSV" in page
