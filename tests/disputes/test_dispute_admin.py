"""Operators decide disputes in the admin: a confirmation page asks for the reason, then the
dispute service runs (the money through the ledger); a support user sees, never decides."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse

from fintech.disputes.models import Dispute
from fintech.disputes.services import dispute_review
from fintech.transfers.models import Transfer
from tests.builders import build_user
from tests.disputes.conftest import OPS, refund_entries

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:disputes_dispute_changelist"


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def decide(client, dispute, action: str, reason: str = ""):
    data = {"action": action, "_selected_action": [dispute.pk], "confirm": "yes"}
    if reason:
        data["reason"] = reason
    return client.post(reverse(CHANGELIST), data, follow=True)


def test_lost_needs_a_reason_then_refunds_once(ops_client, completed, open_dispute):
    dispute = open_dispute()
    dispute_review(actor=OPS, dispute_id=dispute.pk, reason="answered")
    response = decide(ops_client, dispute, "decide_lost")  # no reason: the form again
    assert "admin/customers/action_with_reason.html" in [t.name for t in response.templates]
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.UNDER_REVIEW

    response = decide(ops_client, dispute, "decide_lost", reason="recall recovered the funds")
    assert any("lost, refunded" in str(m) for m in get_messages(response.wsgi_request))
    decide(ops_client, dispute, "decide_lost", reason="clicked twice")
    dispute.refresh_from_db()
    completed.refresh_from_db()
    assert dispute.state == Dispute.State.LOST
    assert dispute.decision_reason == "recall recovered the funds"
    assert completed.state == Transfer.State.REFUNDED
    assert refund_entries(completed) == 1


def test_the_list_and_page_show_disputes(ops_client, open_dispute):
    dispute = open_dispute()
    page = ops_client.get(reverse(CHANGELIST) + "?overdue=yes")
    assert page.status_code == 200
    page = ops_client.get(reverse(CHANGELIST))
    assert dispute.transfer.reference in page.content.decode()
    assert (
        ops_client.get(reverse("admin:disputes_dispute_change", args=[dispute.pk])).status_code
        == 200
    )


def test_support_sees_disputes_but_cannot_decide(client, open_dispute):
    dispute = open_dispute()
    sam = build_user("sam", is_staff=True)
    sam.groups.add(Group.objects.get(name="support"))
    client.force_login(sam)
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert "decide_lost" not in page.content.decode()
    decide(client, dispute, "decide_lost", reason="trying")
    dispute.refresh_from_db()
    assert dispute.state == Dispute.State.OPENED
