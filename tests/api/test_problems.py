"""Every error under /api/ is an RFC 9457 problem naming its cause; nothing is written."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import time_machine
from django.test import Client

from fintech.quotes.models import Quote
from fintech.transfers.models import Transfer
from tests.api.conftest import create_quote, create_transfer
from tests.builders import build_beneficiary

pytestmark = pytest.mark.django_db

ALICE = "Alice Trading Ltd"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code", "request_id", "errors"}


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(f"/problems/{code}")
    assert body["request_id"] == response["X-Request-Id"]
    return body


def fields(body: dict) -> dict[str, str]:
    return {e["field"]: e["code"] for e in body["errors"]}


def test_malformed_json(alice_api) -> None:
    response = alice_api.post("/quotes", raw=b'{"source_currency": "GBP",')
    body = problem(response, 400, "malformed_body")
    assert body["instance"] == "/api/v1/quotes"
    assert not Quote.objects.filter(profile__legal_name=ALICE).exists()


def test_a_body_that_is_not_an_object(alice_api) -> None:
    body = problem(alice_api.post("/quotes", ["GBP"]), 400, "validation_failed")
    assert fields(body) == {"body": "invalid"}


def test_unknown_field_is_named(alice_api) -> None:
    response = alice_api.post(
        "/quotes",
        {
            "source_currency": "GBP",
            "target_currency": "EUR",
            "source_amount": "10.00",
            "sourceAmount": "10.00",
        },
    )
    assert fields(problem(response, 400, "validation_failed")) == {"sourceAmount": "unknown_field"}
    assert not Quote.objects.filter(profile__legal_name=ALICE).exists()


def test_unknown_nested_field_is_named_with_its_path(alice_api) -> None:
    response = alice_api.post(
        "/beneficiaries",
        {
            "holder_name": "X Ltd",
            "currency": "GBP",
            "country": "GB",
            "scheme": "gb_sort_code",
            "details": {"sort_code": "40-47-84", "account_number": "70872490", "extra": "1"},
        },
    )
    assert fields(problem(response, 400, "validation_failed")) == {"details.extra": "unknown_field"}


def test_wrong_types_are_named(alice_api) -> None:
    response = alice_api.post(
        "/transfers",
        {"quote_id": "not-a-uuid", "beneficiary_id": "x", "customer_transaction_id": ["a"]},
    )
    assert set(fields(problem(response, 400, "validation_failed"))) == {
        "quote_id",
        "beneficiary_id",
        "customer_transaction_id",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": 5}, "reason"),  # DRF alone would read 5 as "5"
        ({"reason": ["a"]}, "reason"),
    ],
)
def test_a_number_is_not_a_string(alice_api, alice, body, field) -> None:
    beneficiary = build_beneficiary(profile=alice, currency="EUR")
    response = alice_api.post(f"/beneficiaries/{beneficiary.pk}/deactivate", body)
    assert fields(problem(response, 400, "validation_failed")) == {field: "invalid_type"}


def test_null_bank_details_are_named_not_a_500(alice_api) -> None:
    # Found by the schemathesis coverage phase: a null where an object goes.
    response = alice_api.post(
        "/beneficiaries",
        {"holder_name": "x", "currency": "EUR", "country": "DE", "scheme": "iban", "details": None},
    )
    assert fields(problem(response, 400, "validation_failed")) == {"details": "null"}


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("10.001", "too_many_decimals"),
        ("-5.00", "amount_not_positive"),
        ("0", "amount_not_positive"),
        ("1e3", "invalid_amount"),
        (" 10.00 ", "invalid_amount"),  # DRF's trimming no longer hides the spaces
        ("\u0661\u0660", "invalid_amount"),  # Arabic-Indic "10"
        ("+10", "invalid_amount"),
        (10.5, "invalid_amount"),
        ("99999999999", "amount_too_large"),
    ],
)
def test_bad_amounts_are_named(alice_api, amount, code) -> None:
    response = alice_api.post(
        "/quotes", {"source_currency": "GBP", "target_currency": "EUR", "source_amount": amount}
    )
    assert fields(problem(response, 400, "validation_failed")) == {"source_amount": code}
    assert not Quote.objects.filter(profile__legal_name=ALICE).exists()


def test_jpy_takes_no_decimals(alice_api) -> None:
    response = alice_api.post(
        "/quotes", {"source_currency": "JPY", "target_currency": "GBP", "source_amount": "100.5"}
    )
    assert fields(problem(response, 400, "validation_failed")) == {
        "source_amount": "too_many_decimals"
    }


def test_unsupported_currency_is_named(alice_api) -> None:
    response = alice_api.post(
        "/quotes", {"source_currency": "GBP", "target_currency": "ZZZ", "source_amount": "10.00"}
    )
    body = problem(response, 400, "validation_failed")
    assert fields(body) == {"target_currency": "unsupported_currency"}


def test_quote_expiry_is_a_422_naming_the_quote(alice_api, alice, settings) -> None:
    settings.QUOTE_TTL_SECONDS = 60
    quote = create_quote(alice_api)
    beneficiary = build_beneficiary(profile=alice, currency="EUR")
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=5)):
        response = alice_api.post(
            "/transfers",
            {
                "quote_id": quote["id"],
                "beneficiary_id": beneficiary.pk,
                "customer_transaction_id": "INV-1",
            },
        )
    body = problem(response, 422, "quote_expired")
    assert fields(body) == {"quote_id": "quote_expired"}
    assert not Transfer.objects.filter(profile__legal_name=ALICE).exists()


def test_beneficiary_in_the_wrong_currency(alice_api, alice) -> None:
    quote = create_quote(alice_api)  # pays out EUR
    beneficiary = build_beneficiary(profile=alice, currency="GBP")
    response = alice_api.post(
        "/transfers",
        {"quote_id": quote["id"], "beneficiary_id": beneficiary.pk, "customer_transaction_id": "A"},
    )
    assert fields(problem(response, 400, "validation_failed")) == {
        "beneficiary_id": "currency_mismatch"
    }
    assert not Transfer.objects.filter(profile__legal_name=ALICE).exists()


def test_oversized_body(alice_api, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = alice_api.post("/quotes", {"source_currency": "GBP", "pad": "x" * 2000})
    body = problem(response, 413, "payload_too_large")
    assert "1000" in body["detail"]
    assert not Quote.objects.filter(profile__legal_name=ALICE).exists()


def test_illegal_transition_is_409_and_changes_nothing(alice_api, alice) -> None:
    transfer = create_transfer(alice_api, alice)
    assert alice_api.post(f"/transfers/{transfer['id']}/cancel").status_code == 200
    response = alice_api.post(f"/transfers/{transfer['id']}/fund")
    body = problem(response, 409, "transition_not_allowed")
    assert "cancelled" in body["detail"]
    assert Transfer.objects.get(pk=transfer["id"]).state == "cancelled"


def test_not_json_is_415(alice_api) -> None:
    response = alice_api.post("/quotes", raw="source_currency=GBP", content_type="text/plain")
    problem(response, 415, "unsupported_media_type")


def test_wrong_method_is_405(alice_api) -> None:
    response = alice_api.client.delete(
        "/api/v1/profile", HTTP_AUTHORIZATION=f"Bearer {alice_api.token}"
    )
    problem(response, 405, "method_not_allowed")


@pytest.mark.parametrize("path", ["/api/v2/profile", "/api/v1/nothing-here", "/api/", "/api/v1"])
def test_unknown_paths_are_404_problems(client, path) -> None:
    problem(client.get(path), 404, "not_found")


def test_a_foreign_or_malformed_id_is_404(alice_api) -> None:
    problem(alice_api.get(f"/quotes/{uuid.uuid4()}"), 404, "not_found")
    problem(alice_api.get("/quotes/not-a-uuid"), 404, "not_found")
    problem(alice_api.get("/transfers/999999"), 404, "not_found")
    problem(alice_api.get("/beneficiaries/abc"), 404, "not_found")


def test_no_token_is_401_with_a_bearer_challenge(client) -> None:
    response = client.get("/api/v1/profile")
    problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_401_invalid_token(client) -> None:
    response = client.get("/api/v1/profile", HTTP_AUTHORIZATION="Bearer nope")
    problem(response, 401, "invalid_token")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_token_in_the_query_string_is_not_accepted(alice_api) -> None:
    # RFC 9700 / RFC 6750: bearer tokens travel in the Authorization header only.
    response = alice_api.client.get("/api/v1/profile", {"access_token": alice_api.token})
    problem(response, 401, "not_authenticated")
    assert alice_api.get("/profile").status_code == 200  # the same token, in the header


def test_an_expired_token_is_401(alice_api) -> None:
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=1)):
        response = alice_api.get("/profile")
    problem(response, 401, "invalid_token")
    assert "invalid_token" in response["WWW-Authenticate"]


def test_an_unexpected_error_is_a_500_problem(alice_api, monkeypatch) -> None:
    def broken(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr("fintech.api.views.account.compliance_status_for_profile", broken)
    body = problem(alice_api.get("/compliance"), 500, "internal_error")
    assert "bug" not in body["detail"]


def test_request_id_is_kept_when_sane_and_replaced_otherwise(alice_api) -> None:
    kept = alice_api.get("/profile", **{"X-Request-Id": "erp-42.abc"})
    assert kept["X-Request-Id"] == "erp-42.abc"
    replaced = alice_api.get("/profile", **{"X-Request-Id": "bad id\twith spaces"})
    assert replaced["X-Request-Id"] != "bad id\twith spaces"
    assert uuid.UUID(replaced["X-Request-Id"])


def test_every_response_has_a_request_id_even_outside_the_api() -> None:
    assert Client().get("/health/")["X-Request-Id"]


def test_errors_made_outside_the_api_handlers_are_problems_too(client) -> None:
    # Function views without DRF: a POST to the problem index is a 405, still a problem.
    response = client.post("/api/v1/problems/")
    body = problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"
    assert body["instance"] == "/api/v1/problems/"


def test_a_post_to_an_unknown_path_is_a_404_problem_not_a_csrf_page(alice_api) -> None:
    problem(alice_api.post("/transfers//fund"), 404, "not_found")


def test_options_is_not_offered(alice_api) -> None:
    response = alice_api.client.options(
        "/api/v1/transfers", HTTP_AUTHORIZATION=f"Bearer {alice_api.token}"
    )
    problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, POST, HEAD"


def test_the_api_skips_the_browser_middleware_the_admin_keeps(client, alice_api) -> None:
    api = alice_api.get("/profile")
    assert api.status_code == 200
    assert not api.cookies  # no session, no CSRF cookie
    assert "X-Frame-Options" not in api
    assert api["X-Content-Type-Options"] == "nosniff"  # security headers still apply
    login = client.get("/admin/login/")
    assert login["X-Frame-Options"] == "DENY"
    assert "csrftoken" in login.cookies
