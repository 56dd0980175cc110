"""The cases console: compliance works cases (actions with a note, notes and attachments
inline, downloads); support and finance never see cases; the exception inbox shows open
cases to compliance only."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fintech.compliance.cases import services as cases
from fintech.compliance.models import CaseAttachment, CaseNote, ScreeningHit
from fintech.core.models import AuditEvent
from integrations.inbox.scan import exception_scan
from integrations.inbox.selectors import items_visible_to, open_q
from integrations.models import ExceptionItem
from tests.compliance.cases import actor_of, case_of, held_beneficiary, officer
from tests.compliance.sanctions import OFAC_V1, load

pytestmark = pytest.mark.django_db

CASES = "admin:compliance_case_changelist"
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def case(alice):
    load("ofac", OFAC_V1)
    held_beneficiary(alice)
    return case_of(alice)


@pytest.fixture
def carla(db):
    return officer("carla")


def test_an_officer_works_a_case_in_the_console(client, case, carla) -> None:
    client.force_login(carla)
    listing = client.get(reverse(CASES), {"state": "open", "risk_level": "high"})
    assert listing.status_code == 200
    assert b"Alice Trading Ltd" in listing.content

    page = client.get(reverse("admin:compliance_case_change", args=[case.pk]))
    assert page.status_code == 200
    assert b"Blue Horizon" in page.content  # the item
    assert b'data-action="start_investigation"' in page.content

    data = {"action": "start_investigation", ACTION_CHECKBOX_NAME: [case.pk]}
    asked = client.post(reverse(CASES), data)
    assert b"Reason" in asked.content
    client.post(reverse(CASES), {**data, "confirm": "yes", "reason": "pulling the register"})
    case.refresh_from_db()
    assert case.state == "investigating"
    assert AuditEvent.objects.get(action="case.investigation_started").actor_id == carla.pk

    item = case.items.get()
    form = {
        "items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "1", "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000", "items-0-id": str(item.pk), "items-0-case": str(case.pk),
        "notes-TOTAL_FORMS": "1", "notes-INITIAL_FORMS": "0", "notes-MIN_NUM_FORMS": "0",
        "notes-MAX_NUM_FORMS": "1000", "notes-0-text": "called the customer",
        "attachments-TOTAL_FORMS": "1", "attachments-INITIAL_FORMS": "0",
        "attachments-MIN_NUM_FORMS": "0", "attachments-MAX_NUM_FORMS": "1000",
        "attachments-0-upload": SimpleUploadedFile("reg.pdf", PDF, "application/pdf"),
    }  # fmt: skip
    saved = client.post(reverse("admin:compliance_case_change", args=[case.pk]), form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert CaseNote.objects.get().author_label == "user:carla"
    attachment = CaseAttachment.objects.get()

    download = client.get(
        reverse("admin:compliance_case_attachment", args=[case.pk, attachment.pk])
    )
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="reg.pdf"'
    assert download["Content-Type"] == "application/pdf"
    assert download.content == PDF
    assert AuditEvent.objects.filter(action="case.attachment_downloaded").count() == 1

    # A bad upload is refused on the form, nothing stored.
    form["attachments-0-upload"] = SimpleUploadedFile("x.html", b"<script>", "application/pdf")
    form["notes-0-text"] = ""
    refused = client.post(reverse("admin:compliance_case_change", args=[case.pk]), form)
    assert refused.status_code == 200
    assert b"only csv, jpeg, jpg, pdf, png, txt files are accepted" in refused.content
    assert CaseAttachment.objects.count() == 1

    sar = reverse("admin:compliance_case_sar", args=[case.pk, "json"])
    assert client.get(sar).status_code == 409  # not escalated yet
    cases.case_escalate(actor=actor_of(carla), case_id=case.pk, note="to the MLRO")
    report = client.get(sar)
    assert report.status_code == 200
    assert report["Content-Disposition"] == f'attachment; filename="sar-case-{case.pk}.json"'
    assert report.json()["subject"]["legal_name"] == "Alice Trading Ltd"
    by_action = client.post(
        reverse(CASES), {"action": "download_sar", ACTION_CHECKBOX_NAME: [case.pk]}
    )
    assert by_action["Content-Disposition"] == f'attachment; filename="sar-case-{case.pk}.json"'
    assert AuditEvent.objects.filter(action="case.sar_exported").count() == 2


@pytest.mark.parametrize("role", ["support", "finance"])
def test_support_and_finance_never_see_cases(client, case, role) -> None:
    client.force_login(officer("sam", role))
    attachment = cases.case_attachment_add(
        actor=actor_of(officer("carla")), case_id=case.pk, filename="a.pdf", content=PDF
    )
    urls = [
        reverse(CASES),
        reverse("admin:compliance_case_change", args=[case.pk]),
        reverse("admin:compliance_case_sar", args=[case.pk, "json"]),
        reverse("admin:compliance_case_attachment", args=[case.pk, attachment.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
    trail = client.get(reverse("admin:core_auditevent_changelist"))
    assert trail.status_code == 200
    assert b"case.opened" not in trail.content


def test_a_hit_in_a_case_is_decided_through_the_case(client, case, carla) -> None:
    client.force_login(carla)
    hit_id = case.items.get().source_id
    page = client.get(reverse("admin:compliance_screeninghit_changelist"))
    assert f"case {case.pk}".encode() in page.content
    refused = client.post(
        reverse("admin:compliance_screeninghit_changelist"),
        {"action": "clear", ACTION_CHECKBOX_NAME: [hit_id], "confirm": "yes", "reason": "x"},
        follow=True,
    )
    assert f"it is in case {case.pk}: decide it there" in refused.content.decode()
    assert case.items.get().outcome == ""
    assert ScreeningHit.objects.get(pk=hit_id).status == "open"


def test_the_inbox_shows_open_cases_to_compliance_only(case, carla, settings) -> None:
    exception_scan()
    item = ExceptionItem.objects.get(open_q(), source="compliance_case")
    assert item.source_id == str(case.pk)
    assert item.severity == ExceptionItem.Severity.MEDIUM  # high once escalated or overdue
    assert items_visible_to(carla).filter(pk=item.pk).exists()
    for role in ("support", "finance"):
        assert not items_visible_to(officer(f"x-{role}", role)).filter(pk=item.pk).exists()

    cases.case_start_investigation(actor=actor_of(carla), case_id=case.pk, note="on it")
    settings.CASE_FOUR_EYES_RISK = 101
    cases.case_close_cleared(actor=actor_of(carla), case_id=case.pk, note="false positive")
    exception_scan()
    assert not ExceptionItem.objects.filter(open_q(), source="compliance_case").exists()


def test_the_inbox_shows_a_hit_not_in_a_case_to_compliance_only(case, carla) -> None:
    item = case.items.get()
    item.delete()  # stands for a hit raised before cases existed
    exception_scan()
    inbox_item = ExceptionItem.objects.get(open_q(), source="screening_hit")
    assert inbox_item.source_id == str(item.source_id)
    assert items_visible_to(carla).filter(pk=inbox_item.pk).exists()
    assert not items_visible_to(officer("sam", "support")).filter(pk=inbox_item.pk).exists()


def test_support_sees_that_a_hold_exists_not_why(client, case, alice) -> None:
    client.force_login(officer("sam", "support"))
    page = client.get(reverse("admin:customers_profile_change", args=[alice.pk]))
    assert page.status_code == 200
    held = case.items.get()
    beneficiary_id = ScreeningHit.objects.get(pk=held.source_id).subject_id
    text = page.content.decode()
    assert f"on hold by compliance: beneficiary {beneficiary_id}" in text
    assert "Horizon" not in text.split("on hold by compliance")[1][:300]
    assert "OFAC" not in text


def test_an_overdue_or_escalated_case_is_high_in_the_inbox(case, carla) -> None:
    with time_machine.travel(case.due_at + dt.timedelta(minutes=1)):
        exception_scan()
        item = ExceptionItem.objects.get(open_q(), source="compliance_case")
        assert item.severity == ExceptionItem.Severity.HIGH
    cases.case_start_investigation(actor=actor_of(carla), case_id=case.pk, note="on it")
    cases.case_assign(actor=actor_of(carla), case_id=case.pk, assignee=carla)
    cases.case_escalate(actor=actor_of(carla), case_id=case.pk, note="MLRO")
    exception_scan()
    item.refresh_from_db()
    assert item.severity == ExceptionItem.Severity.HIGH
    assert "escalated" in item.title
