"""Cursor pagination, the per-application rate limit, the OpenAPI document and the docs page."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re

import jsonschema
import pytest
import time_machine
import yaml
from oauth2_provider.models import Application

from fintech.api.idempotency import KEY_PATTERN
from fintech.api.models import ApiRequestLog
from fintech.api.request_log import KEY as REQUEST_LOG_KEY
from fintech.api.schema import NO_NUL
from fintech.api.scopes import TRANSFERS_READ
from fintech.api.tasks import request_log_drain_task
from fintech.core.redis_client import redis_client
from tests.api.conftest import api_for, issue_client
from tests.builders import build_beneficiary

pytestmark = pytest.mark.django_db


def body(response) -> dict:
    return json.loads(response.content)


class TestPagination:
    def test_walks_every_row_once_newest_first(self, alice_api, alice) -> None:
        created = [
            build_beneficiary(profile=alice, holder_name=f"Supplier {i}").pk for i in range(7)
        ]
        seen: list[int] = []
        page = body(alice_api.get("/beneficiaries", {"limit": "3"}))
        while True:
            assert len(page["results"]) <= 3
            seen += [b["id"] for b in page["results"]]
            if not page["next"]:
                break
            auth = f"Bearer {alice_api.token}"
            page = body(alice_api.client.get(page["next"], HTTP_AUTHORIZATION=auth))
        assert seen == sorted(created, reverse=True)

    def test_default_limit_is_20(self, alice_api, alice) -> None:
        for i in range(21):
            build_beneficiary(profile=alice, holder_name=f"Supplier {i}")
        page = body(alice_api.get("/beneficiaries"))
        assert len(page["results"]) == 20
        assert page["next"]

    @pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5", "\u0661", " 5"])
    def test_a_bad_limit_is_400_naming_it(self, alice_api, limit) -> None:
        response = alice_api.get("/transfers", {"limit": limit})
        assert response.status_code == 400
        assert body(response)["errors"][0]["field"] == "limit"

    def test_a_tampered_cursor_is_400_naming_it(self, alice_api) -> None:
        response = alice_api.get("/transfers", {"cursor": "bz1hYmM="})  # "o=abc"
        assert response.status_code == 400
        assert body(response)["errors"][0]["field"] == "cursor"

    def test_an_unknown_filter_is_400(self, alice_api) -> None:
        response = alice_api.get("/transfers", {"status": "created"})
        assert response.status_code == 400
        assert body(response)["errors"][0] == {
            "field": "status",
            "code": "unknown_field",
            "message": "This field is not accepted.",
        }


def mid_minute() -> dt.datetime:
    """Second 30 of the current minute: within 30 s of now (tokens stay valid), and frozen
    there the one-minute window cannot roll over during a test."""
    return dt.datetime.now(tz=dt.UTC).replace(second=30, microsecond=0)


class TestRateLimit:
    def test_each_application_has_its_own_budget(self, client, alice, settings) -> None:
        settings.API_RATE_LIMIT_PER_MINUTE = 3
        first = api_for(client, issue_client(alice, [TRANSFERS_READ]))
        second = api_for(client, issue_client(alice, [TRANSFERS_READ]))
        # Frozen in the middle of a minute, so the window cannot roll over mid-test.
        with time_machine.travel(mid_minute(), tick=False):
            statuses = [first.get("/transfers").status_code for _ in range(4)]
            other = second.get("/transfers").status_code
            limited = first.get("/transfers")
        assert statuses == [200, 200, 200, 429]
        assert other == 200
        assert limited["Retry-After"] == "30"
        assert body(limited)["code"] == "rate_limited"

    def test_a_client_can_have_its_own_limit(self, client, alice, settings) -> None:
        settings.API_RATE_LIMIT_PER_MINUTE = 1
        issued = issue_client(alice, [TRANSFERS_READ], rate_limit_per_minute=5)
        api = api_for(client, issued)
        with time_machine.travel(mid_minute(), tick=False):
            assert [api.get("/transfers").status_code for _ in range(6)] == [200] * 5 + [429]


class TestSchema:
    @pytest.fixture
    def schema(self, client) -> dict:
        response = client.get("/api/v1/schema/")
        assert response.status_code == 200
        return yaml.safe_load(response.content)

    def test_has_the_oauth2_scheme_with_every_scope(self, schema) -> None:
        oauth2 = schema["components"]["securitySchemes"]["oauth2"]
        assert oauth2["type"] == "oauth2"
        assert oauth2["flows"]["clientCredentials"]["tokenUrl"] == "/o/token/"
        assert oauth2["flows"]["authorizationCode"]["authorizationUrl"] == "/o/authorize/"
        assert TRANSFERS_READ in oauth2["flows"]["clientCredentials"]["scopes"]

    def test_each_operation_names_its_scope(self, schema) -> None:
        op = schema["paths"]["/api/v1/transfers"]
        assert op["get"]["security"] == [{"oauth2": ["transfers:read"]}, {"bearer": []}]
        assert op["post"]["security"] == [{"oauth2": ["transfers:write"]}, {"bearer": []}]

    def test_money_posts_document_the_idempotency_key(self, schema) -> None:
        for path in ("/api/v1/transfers", "/api/v1/transfers/{transfer_id}/fund", "/api/v1/quotes"):
            parameters = schema["paths"][path]["post"]["parameters"]
            names = [p["name"] for p in parameters if p["in"] == "header"]
            assert names == ["Idempotency-Key"], path

    def test_problem_responses_are_documented(self, schema) -> None:
        responses = schema["paths"]["/api/v1/transfers"]["post"]["responses"]
        for status in ("201", "400", "401", "403", "409", "422", "429"):
            assert status in responses
        problem = responses["422"]["content"]["application/problem+json"]["schema"]
        assert problem == {"$ref": "#/components/schemas/Problem"}
        assert "errors" in schema["components"]["schemas"]["Problem"]["properties"]

    def test_lists_document_cursor_pagination(self, schema) -> None:
        names = {p["name"] for p in schema["paths"]["/api/v1/transfers"]["get"]["parameters"]}
        assert {"cursor", "limit", "state", "currency", "created_from", "created_to"} <= names

    def test_it_declares_what_the_server_enforces(self, schema) -> None:
        params = {p["name"]: p for p in schema["paths"]["/api/v1/transfers"]["get"]["parameters"]}
        assert (
            params["limit"]["schema"] | {"minimum": 1, "maximum": 100} == params["limit"]["schema"]
        )
        [key] = schema["paths"]["/api/v1/quotes"]["post"]["parameters"]
        assert key["schema"]["pattern"] == KEY_PATTERN
        assert key["schema"]["maxLength"] == 255
        components = schema["components"]["schemas"]
        requests = [c for name, c in components.items() if name.endswith("Request")]
        assert requests
        assert all(c["additionalProperties"] is False for c in requests)
        reason = components["BeneficiaryDeactivateInputRequest"]["properties"]["reason"]
        assert reason["type"] == "string"
        assert reason["pattern"] == NO_NUL

    @pytest.mark.parametrize(
        ("quote", "valid"),
        [
            ({"source_currency": "GBP", "target_currency": "EUR", "source_amount": "10.50"}, True),
            ({"source_currency": "GBP", "target_currency": "JPY", "target_amount": "1000"}, True),
            ({"source_currency": "GBP", "target_currency": "JPY", "target_amount": "10.5"}, False),
            ({"source_currency": "KWD", "target_currency": "EUR", "source_amount": "1.234"}, True),
            ({"source_currency": "GBP", "target_currency": "GBP", "source_amount": "10"}, False),
            (
                {
                    "source_currency": "GBP",
                    "target_currency": "EUR",
                    "source_amount": "10",
                    "target_amount": "10",
                },
                False,
            ),
            ({"source_currency": "GBP", "target_currency": "EUR"}, False),
            ({"source_currency": "GBP", "target_currency": "EUR", "source_amount": " 10"}, False),
            ({"source_currency": "GBP", "target_currency": "EUR", "source_amount": "0.00"}, False),
            (
                {"source_currency": "GBP", "target_currency": "EUR", "source_amount": "10", "x": 1},
                False,
            ),
        ],
    )
    def test_a_quote_body_is_valid_per_the_document_as_per_the_server(
        self, schema, alice_api, quote, valid
    ) -> None:
        request = {
            "$ref": "#/components/schemas/QuoteCreateInputRequest",
            "components": schema["components"],
        }
        assert jsonschema.Draft4Validator(request).is_valid(quote) == valid
        response = alice_api.post("/quotes", quote)
        assert (response.status_code == 201) == valid, response.content

    @pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
    def test_the_docs_pages_and_their_assets_are_served_here(self, client, page) -> None:
        # Django's test client goes through the whole middleware stack, so the static files
        # come from whitenoise (finders outside production), as in `make run`, not from a
        # test server's own static handler.
        response = client.get(page)
        assert response.status_code == 200
        html = response.content.decode()
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert any("/static/drf_spectacular_sidecar/" in asset for asset in assets), assets
        # No other host: every link and script is relative to this server.
        assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html)
        texts = [html]
        for asset in sorted(set(assets)):
            assert asset.startswith("/"), asset
            fetched = client.get(asset)
            assert fetched.status_code == 200, asset
            text = b"".join(fetched.streaming_content) if fetched.streaming else fetched.content
            assert b"cdn.jsdelivr" not in text
            assert b"unpkg.com" not in text
            texts.append(text.decode(errors="replace"))
        # The page (or Swagger UI's start-up script, `?script`) loads our document.
        assert any("/api/v1/schema/" in text for text in texts)

    def test_operations_take_a_pasted_bearer_token_beside_their_scopes(self, schema) -> None:
        assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        security = schema["paths"]["/api/v1/transfers"]["post"]["security"]
        assert {"oauth2": ["transfers:write"]} in security
        assert {"bearer": []} in security

    def test_problem_types_are_documented(self, client) -> None:
        response = client.get("/api/v1/problems/quote_expired")
        assert body(response) == {
            "code": "quote_expired",
            "title": "The quote has expired",
            "status": 422,
        }
        assert client.get("/api/v1/problems/nope").status_code == 404


def test_every_api_request_is_logged_once(request_log, alice_api, alice_client) -> None:
    response = alice_api.get("/profile")
    unauthenticated = alice_api.client.get("/api/v1/profile")
    # Queued in Redis by the request, not yet in the table...
    assert not ApiRequestLog.objects.exists()
    assert redis_client().llen(REQUEST_LOG_KEY) == 2
    # ...until the beat's drain moves them.
    assert request_log_drain_task() == 2
    assert redis_client().llen(REQUEST_LOG_KEY) == 0
    rows = list(ApiRequestLog.objects.order_by("id"))
    assert [(r.method, r.path, r.status) for r in rows] == [
        ("GET", "/api/v1/profile", 200),
        ("GET", "/api/v1/profile", 401),
    ]
    assert rows[0].application_id == alice_client.api_client.application_id
    assert rows[0].request_id == response["X-Request-Id"]
    assert rows[0].latency_ms >= 0
    assert rows[1].application_id is None
    assert rows[1].request_id == unauthenticated["X-Request-Id"]
    assert request_log_drain_task() == 0


def test_without_redis_the_request_writes_its_log_row_itself(
    request_log, alice_api, settings
) -> None:
    alice_api.get("/profile")  # the token is checked against the database, not Redis
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    response = alice_api.get("/profile")
    assert response.status_code == 200  # the rate limiter lets it through too
    row = ApiRequestLog.objects.get()
    assert (row.path, row.status, row.request_id) == (
        "/api/v1/profile",
        200,
        response["X-Request-Id"],
    )


def test_a_logged_request_of_a_since_deleted_application_keeps_its_row(
    request_log, client, alice
) -> None:
    issued = issue_client(alice)
    api = api_for(client, issued)
    api.get("/profile")
    Application.objects.filter(client_id=issued.client_id).delete()
    assert request_log_drain_task() == 1
    assert list(ApiRequestLog.objects.values_list("path", "application_id")) == [
        ("/api/v1/profile", None)
    ]


def test_an_undrained_queue_keeps_only_the_newest_rows(request_log, alice_api, settings) -> None:
    settings.API_REQUEST_LOG_QUEUE_MAX = 2
    paths = ["/profile", "/balances", "/compliance"]
    for path in paths:
        assert alice_api.get(path).status_code == 200
    assert redis_client().llen(REQUEST_LOG_KEY) == 2
    request_log_drain_task()
    assert list(ApiRequestLog.objects.order_by("id").values_list("path", flat=True)) == [
        "/api/v1/balances",
        "/api/v1/compliance",
    ]


def test_the_drain_is_scheduled_by_beat() -> None:
    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    migration = importlib.import_module("fintech.api.migrations.0005_request_log_drain_schedule")
    migration.create_schedule(apps, None)  # a transactional test elsewhere may have flushed it
    task = PeriodicTask.objects.get(task="api.request_log_drain")
    assert task.enabled
    assert task.interval.every <= 10
