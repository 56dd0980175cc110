"""Disputes on wallet fundings: the funded money held in the wallet, a lost dispute returns the
funding once (its ledger entry reversed), a won or withdrawn one releases the hold; the
refusals name their field and hold nothing."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fintech.core.errors import Conflict, NotFound, ValidationFailed
from fintech.disputes.models import Dispute
from fintech.disputes.services import (
    DisputeRefused,
    dispute_decide,
    dispute_open,
    dispute_review,
)
from fintech.wallets.selectors import wallet_owner
from ledger import chart
from ledger.selectors import (
    account_balance,
    account_summary,
    entry_reversed_by,
    ledger_verify_report,
)
from tests.api.conftest import api_for, issue_client
from tests.builders import build_wallet_funding
from tests.disputes.conftest import ALICE, OPS, event_types

pytestmark = pytest.mark.django_db


def wallet(profile, currency: str = "EUR"):
    return chart.wallet_account(owner=wallet_owner(profile), currency=currency)


def open_on(profile, entry_id: int, reason: str = "unauthorised") -> Dispute:
    return dispute_open(actor=ALICE, profile=profile, funding_entry_id=entry_id, reason=reason)


def decide(dispute: Dispute, outcome: str) -> Dispute:
    dispute_review(actor=OPS, dispute_id=dispute.pk, reason="bank statement in")
    return dispute_decide(actor=OPS, dispute_id=dispute.pk, outcome=outcome, reason="checked")


def test_lost_returns_the_funding_once_and_won_releases(alice):
    entry_id = build_wallet_funding(profile=alice, currency="EUR", amount_minor=12_345)
    balance = account_balance(account_id=wallet(alice).pk)

    dispute = open_on(alice, entry_id, reason="duplicate")
    assert (dispute.currency, dispute.amount_minor, dispute.transfer_id) == ("EUR", 12_345, None)
    assert account_summary(account_id=wallet(alice).pk).held_minor == 12_345
    assert account_balance(account_id=wallet(alice).pk) == balance  # a hold moves nothing

    lost = decide(dispute, Dispute.State.LOST)
    assert lost.state == Dispute.State.LOST
    assert entry_reversed_by(entry_id=entry_id) is not None
    assert account_balance(account_id=wallet(alice).pk) == balance - 12_345
    assert account_summary(account_id=wallet(alice).pk).held_minor == 0
    # Deciding again changes nothing: returned once.
    dispute_decide(actor=OPS, dispute_id=dispute.pk, outcome="lost", reason="again")
    assert account_balance(account_id=wallet(alice).pk) == balance - 12_345
    assert event_types("dispute.") == ["dispute.opened", "dispute.under_review", "dispute.lost"]

    # A returned funding cannot be disputed again.
    with pytest.raises(DisputeRefused) as refused:
        open_on(alice, entry_id)
    assert refused.value.fields[0].field == "funding_entry_id"
    assert refused.value.fields[0].code == "already_returned"

    other = build_wallet_funding(profile=alice, currency="EUR", amount_minor=500)
    won = decide(open_on(alice, other), Dispute.State.WON)
    assert won.state == Dispute.State.WON
    assert entry_reversed_by(entry_id=other) is None
    assert account_summary(account_id=wallet(alice).pk).held_minor == 0
    assert ledger_verify_report().ok


def test_refusals_name_their_field_and_hold_nothing(alice, bob):
    mine = build_wallet_funding(profile=alice, currency="EUR", amount_minor=700)
    bobs = build_wallet_funding(profile=bob, currency="EUR", amount_minor=700)

    with pytest.raises(NotFound) as not_found:
        open_on(alice, bobs)  # another customer's funding is not described, just not found
    assert not_found.value.fields[0].field == "funding_entry_id"
    with pytest.raises(ValidationFailed) as wrong_reason:
        open_on(alice, mine, reason="not_received")
    assert wrong_reason.value.fields[0].field == "reason"
    with pytest.raises(ValidationFailed) as both:
        dispute_open(
            actor=ALICE, profile=alice, transfer_id=1, funding_entry_id=mine, reason="duplicate"
        )
    assert {f.field for f in both.value.fields} == {"transfer_id", "funding_entry_id"}

    open_on(alice, mine)
    with pytest.raises(Conflict):
        open_on(alice, mine)
    assert Dispute.objects.count() == 1
    assert account_summary(account_id=wallet(alice).pk).held_minor == 700


def test_a_spent_funding_is_refused_and_nothing_is_held(alice):
    entry_id = build_wallet_funding(profile=alice, currency="EUR", amount_minor=1_000)
    available = account_summary(account_id=wallet(alice).pk).available_minor
    # Only part of the funded amount is still in the wallet: a hold elsewhere has the rest.
    from ledger.services import hold_place

    hold_place(
        account_id=wallet(alice).pk,
        amount_minor=available - 999,
        idempotency_key="test:spend",
    )
    with pytest.raises(DisputeRefused) as refused:
        open_on(alice, entry_id)
    assert refused.value.fields[0].code == "funding_spent"
    assert not Dispute.objects.exists()
    assert account_summary(account_id=wallet(alice).pk).held_minor == available - 999


def test_customers_dispute_a_funding_over_the_api(client, alice):
    entry_id = build_wallet_funding(profile=alice, currency="EUR", amount_minor=2_500)
    api = api_for(client, issue_client(alice))

    statement = json.loads(api.get("/ledger/statement?currency=EUR").content)
    assert entry_id in [line["entry_id"] for line in statement["lines"]]

    response = api.post(
        "/disputes", {"funding_entry_id": entry_id, "reason": "unauthorised"}, key="fd-1"
    )
    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    assert (body["funding_entry_id"], body["transfer_id"], body["transfer_reference"]) == (
        entry_id,
        None,
        None,
    )
    assert (body["amount"], body["currency"], body["on_hold"]) == ("25.00", "EUR", True)

    neither = api.post("/disputes", {"reason": "unauthorised"}, key="fd-2")
    assert neither.status_code == 400
    assert "funding_entry_id" in neither.content.decode()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(outcomes=st.lists(st.sampled_from(["won", "lost", "withdrawn"]), min_size=1, max_size=4))
def test_decisions_move_the_wallet_by_the_lost_fundings_only(alice, outcomes):
    """Whatever the outcomes and their repeats, the wallet ends down by exactly the fundings
    whose disputes were lost, nothing is left held, and the ledger verifies."""
    before = account_balance(account_id=wallet(alice).pk)
    funded, lost = 0, 0
    for n, outcome in enumerate(outcomes, start=1):
        entry_id = build_wallet_funding(profile=alice, currency="EUR", amount_minor=100 * n)
        funded += 100 * n
        dispute = open_on(alice, entry_id, reason="duplicate")
        if outcome == "withdrawn":
            dispute_decide(actor=OPS, dispute_id=dispute.pk, outcome=outcome, reason="no")
        else:
            decide(dispute, outcome)
        dispute_decide(actor=OPS, dispute_id=dispute.pk, outcome=outcome, reason="retry")
        lost += 100 * n if outcome == "lost" else 0
    assert account_balance(account_id=wallet(alice).pk) == before + funded - lost
    assert account_summary(account_id=wallet(alice).pk).held_minor == 0
    assert ledger_verify_report().ok
