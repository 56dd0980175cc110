"""The row history cannot be bypassed: pghistory triggers record bulk updates and raw SQL on
every tracked table, with the context (actor, reason) when a service made the change, and the
history tables refuse edits."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from fintech.beneficiaries.models import Beneficiary
from fintech.compliance import services
from fintech.compliance.models import ComplianceStatus
from fintech.customers.models import Membership, Profile
from tests.builders import build_beneficiary

pytestmark = pytest.mark.django_db


def history(model, pk: int) -> list:
    return list(model.pgh_event_model.objects.filter(pgh_obj_id=pk).order_by("pgh_id"))


def test_profile_bulk_update_is_recorded(alice) -> None:
    Profile.objects.filter(pk=alice.pk).update(legal_name="Renamed In Bulk Ltd")

    last = history(Profile, alice.pk)[-1]
    assert last.pgh_label == "update"
    assert last.legal_name == "Renamed In Bulk Ltd"


def test_profile_raw_sql_update_is_recorded(alice) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_profile SET email = 'raw@example.com' WHERE id = %s", [alice.pk]
        )
    assert history(Profile, alice.pk)[-1].email == "raw@example.com"


def test_membership_raw_sql_update_and_delete_are_recorded(alice, alice_user) -> None:
    membership = Membership.objects.get(profile=alice, user=alice_user)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_membership SET role = 'viewer' WHERE id = %s", [membership.pk]
        )
        cursor.execute("DELETE FROM customers_membership WHERE id = %s", [membership.pk])
    labels = [(e.pgh_label, e.role) for e in history(Membership, membership.pk)]
    assert labels == [("insert", "owner"), ("update", "viewer"), ("delete", "viewer")]


def test_compliance_state_forced_by_raw_sql_is_recorded(bob) -> None:
    status = bob.compliance
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE compliance_compliancestatus SET state = 'verified' WHERE id = %s", [status.pk]
        )
    assert [e.state for e in history(ComplianceStatus, status.pk)] == [
        "unverified",
        "pending",
        "verified",
    ]


def test_compliance_bulk_update_is_recorded(bob) -> None:
    ComplianceStatus.objects.filter(pk=bob.compliance.pk).update(review_required=True)
    assert history(ComplianceStatus, bob.compliance.pk)[-1].review_required is True


def test_beneficiary_bulk_update_is_recorded(alice) -> None:
    beneficiary = build_beneficiary(profile=alice, currency="EUR")
    Beneficiary.objects.filter(pk=beneficiary.pk).update(holder_name="Someone Else")
    assert [e.holder_name for e in history(Beneficiary, beneficiary.pk)] == [
        "Acme Supplies Ltd",
        "Someone Else",
    ]


def test_service_changes_carry_actor_and_reason(bob, ops_actor) -> None:
    services.compliance_reject(actor=ops_actor, status=bob.compliance, reason="blurry passport")
    last = history(ComplianceStatus, bob.compliance.pk)[-1]
    assert last.state == "rejected"
    assert last.pgh_context is not None
    assert last.pgh_context.metadata["actor"] == "user:ops"
    assert last.pgh_context.metadata["reason"] == "blurry passport"


def test_history_rows_cannot_be_edited_or_deleted(alice) -> None:
    table = apps.get_model("customers", "ProfileEvent")._meta.db_table
    for sql in (f"UPDATE {table} SET legal_name = 'forged'", f"DELETE FROM {table}"):
        with (
            pytest.raises(ProgrammingError, match="Cannot update or delete"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert history(Profile, alice.pk)[0].legal_name == "Alice Trading Ltd"
