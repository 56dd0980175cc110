"""sanctions_list_load and its command: versions, a reload that does nothing, changes found."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from fintech.compliance.models import SanctionsEntry, SanctionsListVersion
from fintech.compliance.screening.parsers import ListFileInvalid, published_date
from fintech.core.models import AuditEvent
from tests.compliance.sanctions import DATA, OFAC_V1, OFAC_V2, OPENSANCTIONS, UN, load

pytestmark = pytest.mark.django_db


def test_each_format_loads_as_version_one_of_its_list() -> None:
    for source, path, total in (
        ("ofac", OFAC_V1, 4),
        ("un", UN, 3),
        ("opensanctions", OPENSANCTIONS, 4),
    ):
        result = load(source, path)
        assert result.created
        version = result.version
        assert (version.number, version.entries_total, version.entries_added) == (1, total, total)
        assert version.rescreen_due_at is not None  # the rescreen scan will find it
        assert SanctionsEntry.objects.filter(source=source, is_active=True).count() == total

    petrov = SanctionsEntry.objects.get(source="ofac", external_id="90001")
    assert petrov.names_normalised == ["ivan sergeyevich petrov", "ivan petrov", "john petroff"]


def test_the_same_file_again_is_a_no_op_that_says_so() -> None:
    first = load("ofac", OFAC_V1)
    again = load("ofac", OFAC_V1)

    assert not again.created
    assert again.version == first.version
    assert "already loaded" in again.summary
    assert SanctionsListVersion.objects.count() == 1
    assert AuditEvent.objects.filter(action="sanctions.list_loaded").count() == 1


def test_a_new_version_counts_added_changed_and_removed_entries() -> None:
    v1 = load("ofac", OFAC_V1).version
    horizon_before = SanctionsEntry.objects.get(external_id="90002")
    petrov_hash = SanctionsEntry.objects.get(external_id="90001").content_hash

    v2 = load("ofac", OFAC_V2).version

    assert v2.number == 2
    assert v2.published == "12/02/2026"
    assert (v2.entries_total, v2.entries_added, v2.entries_changed, v2.entries_removed) == (
        4,
        1,
        1,
        1,
    )
    petrov = SanctionsEntry.objects.get(external_id="90001")
    assert petrov.content_hash != petrov_hash
    assert petrov.changed_in == v2
    assert "Vanya PETROV" in petrov.names
    horizon = SanctionsEntry.objects.get(external_id="90002")
    assert (horizon.content_hash, horizon.changed_in) == (horizon_before.content_hash, v1)
    rashid = SanctionsEntry.objects.get(external_id="90003")
    assert (rashid.is_active, rashid.removed_in) == (False, v2)
    assert SanctionsEntry.objects.get(external_id="90006").added_in == v2

    audit = AuditEvent.objects.get(action="sanctions.list_loaded", target_id=str(v2.pk))
    assert audit.actor_label == "user:carla"
    assert (audit.data["added"], audit.data["changed"], audit.data["removed"]) == (1, 1, 1)


def test_a_broken_file_changes_nothing(tmp_path) -> None:
    load("ofac", OFAC_V1)
    broken = tmp_path / "sdn.xml"
    broken.write_bytes(OFAC_V2.read_bytes()[:1500])

    with pytest.raises(ListFileInvalid):
        load("ofac", broken)

    assert SanctionsListVersion.objects.count() == 1
    assert SanctionsEntry.objects.filter(is_active=True).count() == 4


def test_the_command_loads_and_reports() -> None:
    out = io.StringIO()
    call_command("sanctions_load", "--source", "un", str(UN), "--by", "carla", stdout=out)
    assert (
        "UN consolidated list v1 loaded: 3 entries, 3 added, 0 changed, 0 removed" in out.getvalue()
    )
    assert SanctionsListVersion.objects.get().loaded_by == "command:carla"

    out = io.StringIO()
    call_command("sanctions_load", "--source", "un", str(UN), stdout=out)
    assert "already loaded from this very file" in out.getvalue()


def test_the_command_names_a_wrong_format() -> None:
    with pytest.raises(CommandError, match="not a UN consolidated list XML file"):
        call_command("sanctions_load", "--source", "un", str(DATA / "ofac_sdn_v1.xml"))


def test_a_file_older_than_the_loaded_one_is_refused() -> None:
    load("ofac", OFAC_V2)  # published 12/02/2026

    with pytest.raises(
        ListFileInvalid, match=r"published 2026-11-28, before the loaded version v1"
    ):
        load("ofac", OFAC_V1)  # published 11/28/2026

    assert SanctionsListVersion.objects.count() == 1
    assert not SanctionsEntry.objects.filter(removed_in__isnull=False).exists()


def test_an_opensanctions_export_is_dated_by_its_newest_entity(tmp_path) -> None:
    load("opensanctions", OPENSANCTIONS)
    version = SanctionsListVersion.objects.get()
    assert version.published.startswith("2026-12-01")

    older = tmp_path / "older.ftm.json"
    older.write_bytes(OPENSANCTIONS.read_bytes().replace(b"2026-12-01T", b"2026-10-01T"))
    with pytest.raises(ListFileInvalid, match="before the loaded version"):
        load("opensanctions", older)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("12/02/2026", date(2026, 12, 2)),
        ("2026-12-01T18:00:03.79Z", date(2026, 12, 1)),
        ("2026-12-01", date(2026, 12, 1)),
        ("13/45/2026", None),
        ("", None),
        ("Dec 2026", None),
    ],
)
def test_published_labels_read_as_dates_or_not_at_all(label: str, expected: date | None) -> None:
    assert published_date(label) == expected
