"""Input no parser or query may see: NUL characters (PostgreSQL refuses them in text) and
lone surrogates anywhere, and JSON nested deeper than API_MAX_JSON_DEPTH. Each is a 400
naming where it is (a problem under /api/, a plain 400 elsewhere), never a 500."""

from __future__ import annotations

import json

import pytest
import requests
from django.test import Client

from fintech.quotes.models import Quote
from fintech.transfers.models import Transfer
from tests.api.test_problems import ALICE, fields, problem

pytestmark = pytest.mark.django_db

DEEP = "[" * 10_000 + "]" * 10_000


def nested(levels: int) -> object:
    """`levels` arrays, one inside the other."""
    value: object = "x"
    for _ in range(levels):
        value = [value]
    return value


class TestTheTwoReportedRequests:
    def test_a_body_nested_ten_thousand_levels_is_a_400(self, alice_api) -> None:
        body = problem(alice_api.post("/quotes", raw=DEEP), 400, "nesting_too_deep")
        assert fields(body) == {"body": "nesting_too_deep"}
        assert not Quote.objects.filter(profile__legal_name=ALICE).exists()

    def test_a_nul_in_a_path_id_is_a_400(self, alice_api) -> None:
        body = problem(alice_api.get("/transfers/1%00"), 400, "invalid_character")
        assert fields(body) == {"path": "invalid_character"}

    def test_both_over_real_http(self, live_server) -> None:
        # A real WSGI server decoding the URL; refused before authentication even runs.
        url = f"{live_server.url}/api/v1"
        response = requests.get(f"{url}/transfers/1%00", timeout=10)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_character"
        response = requests.post(
            f"{url}/quotes",
            data=DEEP,
            headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
            timeout=10,
        )
        # Not authenticated: 401 before the body is read; never a 500.
        assert response.status_code in (400, 401)


class TestNulAnywhere:
    def test_in_a_query_parameter(self, alice_api) -> None:
        body = problem(
            alice_api.get("/transfers", {"state": "created\x00"}), 400, "invalid_character"
        )
        assert fields(body) == {"state": "invalid_character"}

    def test_in_a_query_parameter_name(self, alice_api) -> None:
        body = problem(alice_api.get("/transfers?st%00ate=x"), 400, "invalid_character")
        assert fields(body) == {"query parameter": "invalid_character"}

    def test_in_a_header(self, alice_api) -> None:
        response = alice_api.post("/quotes", {}, key="key\x00")
        body = problem(response, 400, "invalid_character")
        assert fields(body) == {"Idempotency-Key": "invalid_character"}

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"customer_transaction_id": "INV\x001"}, "customer_transaction_id"),
            ({"customer_transaction_id": "INV\ud8001"}, "customer_transaction_id"),
            ({"quote_id\x00": "x"}, "body"),
            ({"details": {"iban": ["ok", {"bic": "\x00"}]}}, "details.iban.1.bic"),
        ],
        ids=["value", "lone-surrogate", "key", "nested"],
    )
    def test_in_a_body_string(self, alice_api, payload, field) -> None:
        response = alice_api.post("/transfers", raw=json.dumps(payload))
        body = problem(response, 400, "invalid_character")
        assert fields(body) == {field: "invalid_character"}
        assert not Transfer.objects.exists()

    def test_in_an_admin_url(self, client) -> None:
        response = client.get("/admin/customers/profile/1%00/change/")
        assert response.status_code == 400
        assert b"NUL" in response.content

    def test_in_an_oauth_token_form(self) -> None:
        response = Client().post(
            "/o/token/", {"grant_type": "client_credentials", "client_id": "app\x00"}
        )
        assert response.status_code == 400
        assert b"client_id" in response.content


class TestSizes:
    def test_too_many_query_parameters_are_a_400_problem(self, alice_api, settings) -> None:
        settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
        query = "&".join(f"p{n}=1" for n in range(11))
        body = problem(alice_api.get(f"/transfers?{query}"), 400, "too_many_fields")
        assert fields(body) == {"query parameter": "too_many_fields"}

    def test_too_many_form_fields_outside_the_api_are_a_400(self, settings) -> None:
        settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
        form = {f"f{n}": "1" for n in range(11)}
        assert Client().post("/o/token/", form).status_code == 400


class TestDepth:
    def test_the_limit_is_a_setting_and_the_field_is_named(self, alice_api, settings) -> None:
        settings.API_MAX_JSON_DEPTH = 4
        payload = {"customer_transaction_id": nested(3)}  # object + 3 levels: at the limit
        response = alice_api.post("/transfers", raw=json.dumps(payload))
        problem(response, 400, "validation_failed")  # past the guard, refused by the fields
        payload = {"customer_transaction_id": nested(4)}
        body = problem(
            alice_api.post("/transfers", raw=json.dumps(payload)), 400, "nesting_too_deep"
        )
        assert fields(body) == {"customer_transaction_id.0.0.0": "nesting_too_deep"}

    def test_a_deep_json_body_outside_the_api_is_a_400_too(self) -> None:
        # Inbound webhooks parse their own JSON: the guard refuses it before them.
        response = Client().post("/webhooks/payout-sandbox/", DEEP, content_type="application/json")
        assert response.status_code == 400

    def test_nan_is_not_json(self, alice_api) -> None:
        problem(alice_api.post("/transfers", raw='{"beneficiary_id": NaN}'), 400, "malformed_body")
