"""/api/v1/webhooks: subscriptions with the webhooks:manage scope."""

from __future__ import annotations

import json

import pytest

from fintech.api.scopes import TRANSFERS_READ, WEBHOOKS_MANAGE
from integrations.models import WebhookDelivery, WebhookEndpoint
from tests.api.conftest import api_for, issue_client
from tests.builders import build_profile

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_secret_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice_api(client, alice):
    return api_for(client, issue_client(alice, [WEBHOOKS_MANAGE]))


def create(api, **body):
    body.setdefault("url", "http://127.0.0.1:9/hook")
    return api.post("/webhooks", body)


def test_create_shows_the_secret_once(alice_api) -> None:
    response = create(alice_api, event_types=["transfer.completed"])
    assert response.status_code == 201, response.content
    created = json.loads(response.content)
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["transfer.completed"]
    listed = json.loads(alice_api.get("/webhooks").content)["results"]
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]
    detail = json.loads(alice_api.get(f"/webhooks/{created['id']}").content)
    assert "secret" not in detail


def test_create_is_idempotent_under_a_retry(alice_api) -> None:
    first = alice_api.post("/webhooks", {"url": "http://127.0.0.1:9/a"}, key="k-1")
    again = alice_api.post("/webhooks", {"url": "http://127.0.0.1:9/a"}, key="k-1")
    assert again["Idempotent-Replayed"] == "true"
    assert json.loads(first.content)["id"] == json.loads(again.content)["id"]
    assert WebhookEndpoint.objects.count() == 1


def test_bad_input_names_the_field(alice_api, settings) -> None:
    response = create(alice_api, url="ftp://example.com/x")
    assert response.status_code == 400
    assert json.loads(response.content)["errors"][0]["field"] == "url"
    response = create(alice_api, event_types=["transfer.teleported"])
    assert response.status_code == 400
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False  # production mode
    response = create(alice_api, url="http://169.254.169.254/latest/meta-data")
    assert response.status_code == 400
    body = json.loads(response.content)
    assert body["errors"][0]["code"] == "unsafe_url"


def test_rotate_delete_and_test_event(alice_api) -> None:
    created = json.loads(create(alice_api).content)
    rotated = alice_api.post(f"/webhooks/{created['id']}/rotate-secret", {})
    assert rotated.status_code == 200
    new = json.loads(rotated.content)
    assert new["secret"] != created["secret"]
    assert new["previous_secret_expires_at"] is not None

    sent = alice_api.post(f"/webhooks/{created['id']}/test", {})
    assert sent.status_code == 202
    delivery = json.loads(sent.content)
    assert delivery["event_type"] == "webhook.test"
    assert WebhookDelivery.objects.filter(pk=delivery["id"]).exists()
    deliveries = json.loads(alice_api.get(f"/webhooks/{created['id']}/deliveries").content)
    assert [d["id"] for d in deliveries["results"]] == [delivery["id"]]

    deleted = alice_api.client.delete(
        f"/api/v1/webhooks/{created['id']}", HTTP_AUTHORIZATION=f"Bearer {alice_api.token}"
    )
    assert deleted.status_code == 204
    assert alice_api.get(f"/webhooks/{created['id']}").status_code == 404
    assert WebhookEndpoint.objects.get().deleted_at is not None  # kept as evidence


def test_another_business_sees_404(client, alice_api) -> None:
    created = json.loads(create(alice_api).content)
    carol = build_profile(legal_name="Carol Imports Ltd")
    carol_api = api_for(client, issue_client(carol, [WEBHOOKS_MANAGE]))
    assert carol_api.get(f"/webhooks/{created['id']}").status_code == 404
    assert carol_api.post(f"/webhooks/{created['id']}/rotate-secret", {}).status_code == 404
    assert json.loads(carol_api.get("/webhooks").content)["results"] == []


def test_the_scope_is_required(client, alice) -> None:
    api = api_for(client, issue_client(alice, [TRANSFERS_READ]))
    response = api.get("/webhooks")
    assert response.status_code == 403
    assert json.loads(response.content)["required_scopes"] == [WEBHOOKS_MANAGE]
