"""The payout partner sandbox's recall endpoint validates what it is asked, like a partner."""

import json

import pytest

from integrations.models import SandboxPayout

pytestmark = pytest.mark.django_db

URL = "/sandbox/payout-partner/recalls"


@pytest.fixture
def sent_payout(settings) -> SandboxPayout:
    settings.PAYOUT_SANDBOX_LATENCY_SECONDS = 60  # the answer waits for the scan
    return SandboxPayout.objects.create(
        id="po_sent", client_reference="TR0000000001", amount="100.00", currency="EUR",
        beneficiary_name="Lieferant GmbH", callback_url="http://x/webhooks/payout-sandbox/",
        status=SandboxPayout.Status.SENT, plan=["accepted", "sent"], webhooks_sent=2,
    )  # fmt: skip


def recall(client, settings, **overrides):
    body = {"client_reference": "TR0000000001", "recall_reference": "dispute-1",
            "type": "recall", "reason": "duplicate"}  # fmt: skip
    body.update(overrides)
    return client.post(
        URL, json.dumps(body), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {settings.PAYOUT_SANDBOX_API_KEY}",
    )  # fmt: skip


def test_a_recall_is_accepted_once_and_answered_one_step_later(client, settings, sent_payout):
    first = recall(client, settings)
    assert first.status_code == 201, first.content
    assert json.loads(first.content)["status"] == "pending"
    again = recall(client, settings)
    assert again.status_code == 200
    sent_payout.refresh_from_db()
    assert sent_payout.plan == ["accepted", "sent", "recall_answered"]
    assert sent_payout.next_step_at is not None  # found by the scan when due
    other = recall(client, settings, recall_reference="dispute-2")
    assert other.status_code == 409
    assert json.loads(other.content)["error"] == "recall_exists"


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"type": "refund"}, 422),
        ({"reason": "because"}, 422),
        ({"recall_reference": ""}, 422),
        ({"client_reference": "TR-NOPE"}, 404),
    ],
)
def test_it_refuses_bad_recalls(client, settings, sent_payout, overrides, status):
    assert recall(client, settings, **overrides).status_code == status
    sent_payout.refresh_from_db()
    assert sent_payout.recall_reference == ""


def test_only_a_sent_payout_can_be_recalled(client, settings, sent_payout):
    SandboxPayout.objects.filter(pk=sent_payout.pk).update(status="failed")
    response = recall(client, settings)
    assert response.status_code == 409
    assert json.loads(response.content)["error"] == "not_recallable"


def test_it_needs_the_api_key(client, sent_payout):
    response = client.post(URL, "{}", content_type="application/json")
    assert response.status_code == 401
