"""The compliance console: decisions are admin actions that ask for a reason, call the
services and report each row; a transition not allowed changes nothing and says so."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse

from fintech.compliance.models import ComplianceStatus
from fintech.core.models import AuditEvent

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:compliance_compliancestatus_changelist"


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def act(client, action: str, statuses, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [s.pk for s in statuses], **extra}
    return client.post(reverse(CHANGELIST), data, follow="confirm" in extra)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_action_first_asks_for_a_reason_and_changes_nothing(ops_client, bob) -> None:
    response = act(ops_client, "reject", [bob.compliance])

    assert response.status_code == 200
    assert "admin/customers/action_with_reason.html" in [t.name for t in response.templates]
    assert b"Reason" in response.content
    assert str(bob).encode() in response.content
    assert ComplianceStatus.objects.get(pk=bob.compliance.pk).state == "pending"


def test_confirmed_action_calls_the_service_with_the_reason(ops_client, ops, bob) -> None:
    response = act(ops_client, "reject", [bob.compliance], confirm="yes", reason="fake ID")

    assert response.status_code == 200
    assert ComplianceStatus.objects.get(pk=bob.compliance.pk).state == "rejected"
    audit = AuditEvent.objects.get(action="compliance.reject")
    assert (audit.actor_id, audit.reason) == (ops.pk, "fake ID")
    assert messages_of(response) == ["Bob Example: rejected."]


def test_a_required_reason_left_empty_shows_the_form_again(ops_client, bob) -> None:
    response = act(ops_client, "reject", [bob.compliance], confirm="yes", reason="  ")
    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert ComplianceStatus.objects.get(pk=bob.compliance.pk).state == "pending"


def test_each_row_is_reported_and_refused_rows_change_nothing(ops_client, alice, bob) -> None:
    alice_before = ComplianceStatus.objects.get(pk=alice.compliance.pk)

    response = act(
        ops_client, "verify", [alice.compliance, bob.compliance], confirm="yes", reason="ok"
    )

    messages = messages_of(response)
    assert sorted(messages) == [
        "Alice Trading Ltd: not changed. Cannot verify Alice Trading Ltd: compliance is verified",
        "Bob Example: verified.",
    ]
    alice_after = ComplianceStatus.objects.get(pk=alice.compliance.pk)
    assert alice_after.updated_at == alice_before.updated_at
    assert ComplianceStatus.objects.get(pk=bob.compliance.pk).state == "verified"


def test_flag_and_clear_review_from_the_console(ops_client, alice) -> None:
    act(ops_client, "flag_review", [alice.compliance], confirm="yes", reason="large inflow")
    status = ComplianceStatus.objects.get(pk=alice.compliance.pk)
    assert (status.review_required, status.review_reason) == (True, "large inflow")

    act(ops_client, "clear_review", [alice.compliance], confirm="yes", reason="explained")
    assert ComplianceStatus.objects.get(pk=alice.compliance.pk).review_required is False


def test_list_and_change_pages_are_read_only_and_bounded(
    ops_client, alice, bob, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(12):
        response = ops_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert b"Alice Trading Ltd" in response.content

    url = reverse("admin:compliance_compliancestatus_change", args=[bob.compliance.pk])
    response = ops_client.get(url)
    assert response.status_code == 200
    assert b'name="_save"' not in response.content  # view only
    assert b"compliance.submit" in response.content  # the audit trail is shown
    assert ops_client.get(reverse("admin:compliance_compliancestatus_add")).status_code == 403
