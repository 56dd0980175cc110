"""/api/v1/disputes: open (idempotent), follow, withdraw; tenancy and the clear 422s."""

import json

import pytest

from fintech.api import scopes
from fintech.disputes.models import Dispute
from fintech.transfers.services import transfer_refund
from fintech.wallets.services import DEFAULT_FUNDING_PARTNER
from ledger import chart
from ledger.selectors import account_summary
from tests.api.conftest import Api, api_for, issue_client
from tests.disputes.conftest import OPS

pytestmark = pytest.mark.django_db


def held() -> int:
    funding = chart.funding_partner_account(partner=DEFAULT_FUNDING_PARTNER, currency="GBP")
    return account_summary(account_id=funding.pk).held_minor


@pytest.fixture
def alice_api(client, alice) -> Api:
    return api_for(client, issue_client(alice))


def body(response) -> dict:
    return json.loads(response.content)


def test_a_customer_opens_and_follows_a_dispute(alice_api, completed):
    response = alice_api.post(
        "/disputes",
        {"transfer_id": completed.pk, "reason": "not_received", "description": "nothing came"},
        key="dispute-1",
    )
    assert response.status_code == 201, response.content
    dispute = body(response)
    assert dispute["state"] == "opened"
    assert dispute["on_hold"] is True
    assert dispute["transfer_reference"] == completed.reference
    assert "decision_reason" not in dispute
    assert "partner_answer" not in dispute
    # The same key and body: the stored answer, nothing held twice.
    again = alice_api.post(
        "/disputes",
        {"transfer_id": completed.pk, "reason": "not_received", "description": "nothing came"},
        key="dispute-1",
    )
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Dispute.objects.count() == 1
    assert held() == completed.source_amount_minor

    assert body(alice_api.get(f"/disputes/{dispute['id']}"))["state"] == "opened"
    assert [d["id"] for d in body(alice_api.get("/disputes"))["results"]] == [dispute["id"]]
    transfer = body(alice_api.get(f"/transfers/{completed.pk}"))
    assert transfer["on_hold"] is True

    withdrawn = alice_api.post(f"/disputes/{dispute['id']}/withdraw", {})
    assert withdrawn.status_code == 200, withdrawn.content
    assert body(withdrawn)["state"] == "withdrawn"
    assert body(withdrawn)["on_hold"] is False
    assert held() == 0
    assert body(alice_api.get(f"/transfers/{completed.pk}"))["on_hold"] is False


def test_another_customers_transfer_is_a_404_and_nothing_is_held(client, completed, bob):
    bob_api = api_for(client, issue_client(bob))
    response = bob_api.post("/disputes", {"transfer_id": completed.pk, "reason": "duplicate"})
    assert response.status_code == 404, response.content
    assert not Dispute.objects.exists()
    assert held() == 0


def test_a_refunded_transfer_is_a_422_naming_the_field(alice_api, completed):
    transfer_refund(actor=OPS, transfer_id=completed.pk, reason="refunded")
    response = alice_api.post("/disputes", {"transfer_id": completed.pk, "reason": "duplicate"})
    assert response.status_code == 422, response.content
    problem = body(response)
    assert response["Content-Type"].startswith("application/problem+json")
    assert problem["code"] == "dispute_not_allowed"
    fields = problem.get("errors") or problem.get("fields") or problem.get("invalid_params")
    assert fields
    assert fields[0]["field"] == "transfer_id"
    assert fields[0]["code"] == "already_refunded"
    assert not Dispute.objects.exists()
    assert held() == 0
    documented = alice_api.get("/problems/dispute_not_allowed")
    assert json.loads(documented.content)["status"] == 422


def test_past_the_window_is_a_422(alice_api, completed, settings):
    settings.DISPUTE_OPEN_MAX_DAYS = 1
    completed.__class__.objects.filter(pk=completed.pk).update(
        completed_at=completed.completed_at.replace(year=completed.completed_at.year - 1)
    )
    response = alice_api.post("/disputes", {"transfer_id": completed.pk, "reason": "duplicate"})
    assert response.status_code == 422, response.content
    assert "dispute_window_closed" in response.content.decode()
    assert held() == 0


def test_opening_needs_the_disputes_scope(client, alice, completed):
    api = api_for(client, issue_client(alice, scopes=[scopes.TRANSFERS_READ]))
    response = api.post("/disputes", {"transfer_id": completed.pk, "reason": "duplicate"})
    assert response.status_code == 403
    assert api.get("/disputes").status_code == 403
    assert not Dispute.objects.exists()


def test_customers_cannot_claim_a_partner_return(alice_api, completed):
    response = alice_api.post(
        "/disputes", {"transfer_id": completed.pk, "reason": "partner_return"}
    )
    assert response.status_code == 400
    assert not Dispute.objects.exists()


@pytest.mark.parametrize("transfer_id", [2**70, 0, "12", None])
def test_absurd_transfer_ids_are_a_clear_client_error(alice_api, transfer_id):
    response = alice_api.post("/disputes", {"transfer_id": transfer_id, "reason": "duplicate"})
    assert 400 <= response.status_code < 500, response.content
    assert not Dispute.objects.exists()
