"""Each endpoint does its job for alice: amounts as decimal strings with their currency."""

from __future__ import annotations

import json

import pytest

from fintech.beneficiaries.models import Beneficiary
from fintech.core.models import AuditEvent
from fintech.transfers.models import Transfer
from tests.api.conftest import create_quote, create_transfer
from tests.builders import build_beneficiary
from tests.conftest import ALICE_OPENING_BALANCES

pytestmark = pytest.mark.django_db


def body(response):
    return json.loads(response.content)


def test_profile_is_the_business_the_token_acts_for(alice_api, alice) -> None:
    response = alice_api.get("/profile")
    assert response.status_code == 200
    assert body(response)["id"] == alice.pk
    assert body(response)["legal_name"] == "Alice Trading Ltd"
    assert response["X-Request-Id"]


def test_balances_show_each_wallet_in_major_units(alice_api, alice_funded) -> None:
    response = alice_api.get("/balances")
    assert response.status_code == 200
    balances = {b["currency"]: b for b in body(response)["results"]}
    # alice's opening balances (100,000.00 GBP, 50,000.00 EUR) plus alice_funded's top-ups.
    assert ALICE_OPENING_BALANCES == {"GBP": 10_000_000, "EUR": 5_000_000}
    assert balances["GBP"] == {
        "currency": "GBP",
        "balance": "105000.00",
        "available": "105000.00",
        "reserved": "0.00",
    }
    assert balances["EUR"]["balance"] == "52000.00"


def test_rates_give_mid_and_customer_rate(alice_api) -> None:
    response = alice_api.get("/rates", {"source": "GBP", "target": "EUR"})
    assert response.status_code == 200
    rate = body(response)
    assert rate["source"] == "GBP"
    assert rate["target"] == "EUR"
    assert float(rate["customer_rate"]) < float(rate["mid_rate"])


def test_the_rate_of_a_currency_to_itself_is_one(alice_api) -> None:
    # The document cannot say that two query parameters differ: the server answers it.
    rate = body(alice_api.get("/rates", {"source": "GBP", "target": "GBP"}))
    assert rate["mid_rate"] == rate["customer_rate"]
    assert float(rate["mid_rate"]) == 1


def test_rates_name_the_bad_currency(alice_api) -> None:
    response = alice_api.get("/rates", {"source": "GBP", "target": "XXX"})
    assert response.status_code == 400
    assert body(response)["errors"][0]["field"] == "target"


def test_quote_create_and_get(alice_api) -> None:
    quote = create_quote(alice_api, source_amount="1000.50")
    assert quote["source_amount"] == "1000.50"
    assert quote["source_currency"] == "GBP"
    response = alice_api.get(f"/quotes/{quote['id']}")
    assert response.status_code == 200
    assert body(response)["id"] == quote["id"]
    assert body(response)["target_amount"] == quote["target_amount"]


def test_beneficiary_create_shows_details_masked_and_audits_the_app(alice_api, alice) -> None:
    response = alice_api.post(
        "/beneficiaries",
        {
            "holder_name": "Lieferant GmbH",
            "currency": "EUR",
            "country": "DE",
            "scheme": "iban",
            "details": {"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"},
        },
    )
    assert response.status_code == 201, response.content
    created = body(response)
    assert response["Location"] == f"/api/v1/beneficiaries/{created['id']}"
    assert "3000" in created["account"]
    assert "DE89370400440532013000" not in json.dumps(created)
    audit = AuditEvent.objects.get(action="beneficiary.added", target_id=str(created["id"]))
    assert audit.actor_label.startswith("app:")
    assert audit.request_id == response["X-Request-Id"]


def test_beneficiary_bank_details_are_validated_per_field(alice_api) -> None:
    response = alice_api.post(
        "/beneficiaries",
        {
            "holder_name": "Lieferant GmbH",
            "currency": "EUR",
            "country": "DE",
            "scheme": "iban",
            "details": {"iban": "DE00 0000 0000 0000 0000 00", "bic": "COBADEFFXXX"},
        },
    )
    assert response.status_code == 400
    assert any(e["field"].startswith("details.iban") for e in body(response)["errors"])
    assert not Beneficiary.objects.exists()


def test_beneficiaries_list_get_and_deactivate(alice_api, alice) -> None:
    beneficiary = build_beneficiary(profile=alice, currency="GBP")
    listed = body(alice_api.get("/beneficiaries"))
    assert [b["id"] for b in listed["results"]] == [beneficiary.pk]
    assert body(alice_api.get(f"/beneficiaries/{beneficiary.pk}"))["is_active"] is True

    response = alice_api.post(f"/beneficiaries/{beneficiary.pk}/deactivate", {"reason": "closed"})
    assert response.status_code == 200
    assert body(response)["is_active"] is False
    assert body(alice_api.get("/beneficiaries"))["results"] == []
    assert len(body(alice_api.get("/beneficiaries", {"include_inactive": "true"}))["results"]) == 1

    again = alice_api.post(f"/beneficiaries/{beneficiary.pk}/deactivate", {})
    assert again.status_code == 409
    assert body(again)["code"] == "transition_not_allowed"


def test_transfer_create_get_list_fund_cancel(alice_api, alice) -> None:
    transfer = create_transfer(alice_api, alice, customer_transaction_id="INV-1001")
    assert transfer["state"] == "created"
    assert transfer["customer_transaction_id"] == "INV-1001"
    assert transfer["source_amount"] == "1000.00"

    got = body(alice_api.get(f"/transfers/{transfer['id']}"))
    assert got["reference"] == transfer["reference"]
    assert [t["to_state"] for t in got["timeline"]] == ["created"]
    # The create response's timeline (known without reading it back) is the stored one.
    assert transfer["timeline"] == got["timeline"]

    listed = body(alice_api.get("/transfers", {"state": "created", "currency": "EUR"}))
    assert [t["id"] for t in listed["results"]] == [transfer["id"]]
    assert body(alice_api.get("/transfers", {"state": "funded"}))["results"] == []

    funded = alice_api.post(f"/transfers/{transfer['id']}/fund")
    assert funded.status_code == 200, funded.content
    assert body(funded)["state"] == "funded"

    cancelled = alice_api.post(f"/transfers/{transfer['id']}/cancel", {"reason": "wrong invoice"})
    assert cancelled.status_code == 200
    assert body(cancelled)["state"] == "cancelled"
    assert Transfer.objects.get(pk=transfer["id"]).state == "cancelled"


def test_transfers_filter_by_creation_date(alice_api, alice) -> None:
    transfer = create_transfer(alice_api, alice)
    created_at = transfer["created_at"]
    assert len(body(alice_api.get("/transfers", {"created_from": created_at}))["results"]) == 1
    assert body(alice_api.get("/transfers", {"created_to": created_at}))["results"] == []
    bad = alice_api.get("/transfers", {"created_from": "yesterday"})
    assert bad.status_code == 400
    assert body(bad)["errors"][0]["field"] == "created_from"


def test_ledger_statement_of_the_wallet(alice_api, alice_funded) -> None:
    response = alice_api.get("/ledger/statement", {"currency": "GBP"})
    assert response.status_code == 200
    statement = body(response)
    assert statement["closing_balance"] == "105000.00"
    # alice's opening balance and alice_funded's top-up, in either order.
    lines = [(line["amount"], line["balance_after"]) for line in statement["lines"]]
    assert sorted(lines) == sorted([("100000.00", "100000.00"), ("5000.00", "105000.00")])


def test_ledger_statement_needs_a_supported_currency(alice_api) -> None:
    response = alice_api.get("/ledger/statement", {"currency": "XYZ"})
    assert response.status_code == 400
    assert body(response)["errors"][0]["field"] == "currency"


def test_compliance_status(alice_api, bob_api) -> None:
    assert body(alice_api.get("/compliance"))["state"] == "verified"
    assert body(alice_api.get("/compliance"))["can_transact"] is True
    assert body(bob_api.get("/compliance"))["state"] == "pending"
    assert body(bob_api.get("/compliance"))["can_transact"] is False
