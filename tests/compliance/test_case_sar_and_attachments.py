"""Case attachments (type, size, name, hash) and the suspicious-activity report's contents."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest

from fintech.compliance.cases import services as cases
from fintech.compliance.cases.attachments import filename_sanitise
from fintech.compliance.cases.sar import case_sar_export
from fintech.compliance.models import CaseAttachment
from fintech.core.errors import TransitionNotAllowed, ValidationFailed
from fintech.core.models import AuditEvent
from tests.compliance.cases import actor_of, case_of, held_beneficiary, officer
from tests.compliance.sanctions import OFAC_V1, load

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture
def case(alice):
    load("ofac", OFAC_V1)
    held_beneficiary(alice)
    return case_of(alice)


@pytest.fixture
def carla(db):
    return officer("carla")


def test_an_attachment_is_kept_with_its_hash_and_a_safe_name(case, carla) -> None:
    attachment = cases.case_attachment_add(
        actor=actor_of(carla), case_id=case.pk, filename="../../etc/Passport scan.pdf", content=PDF
    )
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "Passport scan.pdf",
        "application/pdf",
        len(PDF),
    )
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert bytes(CaseAttachment.objects.get().content) == PDF


@pytest.mark.parametrize(
    ("filename", "content", "code"),
    [
        ("payload.exe", b"MZ\x90\x00", "type_not_allowed"),
        ("page.html", b"<script>alert(1)</script>", "type_not_allowed"),
        ("fake.pdf", b"<html>not a pdf</html>", "content_mismatch"),
        ("fake.png", PDF, "content_mismatch"),
        ("binary.txt", b"\xff\xfe\x00\x01", "content_mismatch"),
        ("empty.csv", b"", "empty"),
        ("big.txt", b"a" * 2049, "too_large"),
    ],
)
def test_bad_attachments_are_refused_and_nothing_is_stored(
    case, carla, settings, filename: str, content: bytes, code: str
) -> None:
    settings.CASE_ATTACHMENT_MAX_BYTES = 2048
    with pytest.raises(ValidationFailed) as refused:
        cases.case_attachment_add(
            actor=actor_of(carla), case_id=case.pk, filename=filename, content=content
        )
    assert [(f.field, f.code) for f in refused.value.fields] == [("file", code)]
    assert not CaseAttachment.objects.exists()


def test_file_names_are_sanitised() -> None:
    assert filename_sanitise('a"b;\r\nc.png') == "a_b_c.png"
    assert filename_sanitise("C:\\Users\\x\\..\\report.csv") == "report.csv"
    assert filename_sanitise(".hidden.txt") == "hidden.txt"
    assert len(filename_sanitise("x" * 300 + ".pdf")) == 100
    assert filename_sanitise("x" * 300 + ".pdf").endswith(".pdf")


def test_the_sar_carries_the_cases_facts(case, carla, alice) -> None:
    dan = officer("dan")
    by = actor_of(carla)
    with pytest.raises(TransitionNotAllowed, match="escalated or reported"):
        case_sar_export(actor=by, case_id=case.pk)
    cases.case_start_investigation(actor=by, case_id=case.pk, note="looking")
    cases.case_note_add(actor=by, case_id=case.pk, text="director's name matches the list")
    cases.case_attachment_add(actor=by, case_id=case.pk, filename="register.png", content=PNG)
    cases.case_close_reported(actor=by, case_id=case.pk, note="true match, SAR filed")
    cases.case_decision_approve(actor=actor_of(dan), case_id=case.pk, note="agreed")

    body, content_type, name = case_sar_export(actor=by, case_id=case.pk, fmt="json")
    assert (content_type, name) == ("application/json", f"sar-case-{case.pk}.json")
    report = json.loads(body)
    assert report["subject"]["legal_name"] == "Alice Trading Ltd"
    assert report["subject"]["members"][0]["user"] == "alice"
    assert report["case"]["decision"] == "reported"
    assert (report["case"]["decided_by"], report["case"]["approved_by"]) == (
        "user:carla",
        "user:dan",
    )
    [item] = report["items"]
    assert item["facts"]["matched_name"].upper().startswith("BLUE HORIZON")
    assert item["facts"]["list_entry_id"] == "90002"
    assert item["facts"]["status"] == "confirmed"
    assert report["notes"][0]["text"] == "director's name matches the list"
    assert report["attachments"][0]["sha256"] == hashlib.sha256(PNG).hexdigest()
    timeline = [row["action"] for row in report["timeline"]]
    assert timeline[0] == "case.opened"
    assert "case.close_proposed" in timeline
    assert timeline[-1] == "case.closed"

    body, content_type, _ = case_sar_export(actor=by, case_id=case.pk, fmt="csv")
    rows = dict(csv.reader(io.StringIO(body.decode())))
    assert rows["subject.legal_name"] == "Alice Trading Ltd"
    assert rows["items[0].facts.list_entry_id"] == "90002"
    assert rows["case.approved_by"] == "user:dan"
    assert AuditEvent.objects.filter(action="case.sar_exported").count() == 2
