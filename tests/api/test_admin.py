"""Operator screens: API clients with their profile and scopes; read-only keys and request log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fintech.api.models import ApiRequestLog, IdempotencyRecord
from fintech.api.request_log import request_log_drain

pytestmark = pytest.mark.django_db

QUOTE = {"source_currency": "GBP", "target_currency": "EUR", "source_amount": "5.00"}


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def test_api_clients_show_profile_and_scopes(ops_client, alice_client) -> None:
    page = ops_client.get(reverse("admin:api_apiclient_changelist")).content.decode()
    assert "Alice Trading Ltd" in page
    assert "transfers:write" in page
    assert alice_client.client_id in page
    change = ops_client.get(
        reverse("admin:api_apiclient_change", args=[alice_client.api_client.pk])
    )
    assert change.status_code == 200


def test_idempotency_records_are_read_only(ops_client, alice_api) -> None:
    alice_api.post("/quotes", QUOTE, key="erp-key-1")
    record = IdempotencyRecord.objects.get(key="erp-key-1")
    listing = ops_client.get(reverse("admin:api_idempotencyrecord_changelist"))
    assert "erp-key-1" in listing.content.decode()
    change = ops_client.get(reverse("admin:api_idempotencyrecord_change", args=[record.pk]))
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert ops_client.get(reverse("admin:api_idempotencyrecord_add")).status_code == 403


def test_request_log_filters_by_status_class(request_log, ops_client, alice_api) -> None:
    alice_api.get("/profile")
    alice_api.get("/quotes/not-a-quote")
    request_log_drain()
    url = reverse("admin:api_apirequestlog_changelist")
    client_errors = ops_client.get(url, {"status_class": "4"}).content.decode()
    successes = ops_client.get(url, {"status_class": "2"}).content.decode()
    assert "/api/v1/quotes/not-a-quote" in client_errors
    assert "/api/v1/profile" not in client_errors
    assert "/api/v1/profile" in successes
    assert ApiRequestLog.objects.filter(status=404).count() == 1
