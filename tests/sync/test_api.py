"""/api/v1/accounting (accounting:sync) and the browser's OAuth callback."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from fintech.api.scopes import ACCOUNTING_SYNC, TRANSFERS_READ
from integrations.sync.models import Connection, OAuthAuthorization
from tests.api.conftest import api_for, issue_client
from tests.builders import build_profile
from tests.integrations.conftest import create_transfer
from tests.sync.conftest import PROVIDER, connect, job_through, state_of

pytestmark = pytest.mark.django_db
CALLBACK = "/integrations/oauth/callback/"


@pytest.fixture(autouse=True)
def _fast_secret_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice_api(client, alice):
    return api_for(client, issue_client(alice, [ACCOUNTING_SYNC]))


@pytest.fixture
def carol(alice_user):
    return build_profile(legal_name="Carol Imports Ltd")


def body(response) -> dict:
    return json.loads(response.content)


def test_connect_answers_the_authorization_url_then_the_callback_connects(
    alice_api, alice, fakebooks, client
) -> None:
    response = alice_api.post("/accounting/connections", {"provider": PROVIDER})
    assert response.status_code == 201, response.content
    started = body(response)
    assert started["status"] == "authorizing"
    assert started["authorization_url"].startswith(f"{fakebooks.base}/authorize?")
    assert response["Location"] == f"/api/v1/accounting/connections/{started['id']}"
    assert "access_token" not in started
    # The user consents at the provider, which sends their browser back with a code.
    state = state_of(started["authorization_url"])
    page = client.get(CALLBACK, {"state": state, "code": "good"})
    assert page.status_code == 200
    assert b"Connected to Alice Books" in page.content
    assert page["Cache-Control"] == "no-store"
    detail = body(alice_api.get(f"/accounting/connections/{started['id']}"))
    assert detail["status"] == "active"
    assert detail["tenant_name"] == "Alice Books"
    assert detail["token_expires_at"] is not None
    assert detail["mapping_complete"] is False  # nothing mapped yet
    assert "at-secret-1" not in json.dumps(detail)
    listed = body(alice_api.get("/accounting/connections"))["results"]
    assert [c["id"] for c in listed] == [started["id"]]


def test_connect_is_idempotent_under_a_retry(alice_api, fakebooks) -> None:
    first = alice_api.post("/accounting/connections", {"provider": PROVIDER}, key="k-1")
    again = alice_api.post("/accounting/connections", {"provider": PROVIDER}, key="k-1")
    assert again["Idempotent-Replayed"] == "true"
    assert body(first) == body(again)
    assert OAuthAuthorization.objects.count() == 1


def test_bad_input_names_the_field(alice_api, fakebooks) -> None:
    response = alice_api.post("/accounting/connections", {"provider": "sage"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert body(response)["errors"][0]["field"] == "provider"
    response = alice_api.get(
        "/accounting/sync-status", {"object_type": "invoice", "object_id": "1"}
    )
    assert response.status_code == 400
    assert body(response)["errors"][0]["field"] == "object_type"
    response = alice_api.get("/accounting/sync-status", {"object_type": "transfer"})
    assert body(response)["errors"][0]["field"] == "object_id"


def test_sync_status_of_a_transfer_by_reference_or_id(alice_api, alice, alice_books) -> None:
    transfer = create_transfer(alice)
    job_through(alice_books, object_type="transfer", object_id=transfer.reference, action="invoice")
    job_through(alice_books, object_type="transfer", object_id=transfer.reference, action="fail")
    for key in (transfer.reference, str(transfer.pk), transfer.reference.lower()):
        response = alice_api.get(
            "/accounting/sync-status", {"object_type": "transfer", "object_id": key}
        )
        assert response.status_code == 200, response.content
        jobs = {j["action"]: j for j in body(response)["jobs"]}
        assert jobs["invoice"]["state"] == "synced"
        assert jobs["invoice"]["external_id"] == f"ext-{transfer.reference}"
        assert jobs["fail"]["state"] == "failed"
        assert jobs["fail"]["last_error_class"] == "PermanentError"
        assert "the contact has no name" in jobs["fail"]["last_error"]


def test_another_business_is_a_404(client, alice, carol, alice_books) -> None:
    transfer = create_transfer(alice)
    job_through(alice_books, object_type="transfer", object_id=transfer.reference, action="invoice")
    carol_api = api_for(client, issue_client(carol, [ACCOUNTING_SYNC]))
    assert carol_api.get(f"/accounting/connections/{alice_books.pk}").status_code == 404
    assert carol_api.get("/accounting/connections/not-a-number").status_code == 404
    assert body(carol_api.get("/accounting/connections"))["results"] == []
    for key in (transfer.reference, str(transfer.pk)):
        response = carol_api.get(
            "/accounting/sync-status", {"object_type": "transfer", "object_id": key}
        )
        assert response.status_code == 404, key
    response = carol_api.get(
        "/accounting/sync-status", {"object_type": "profile", "object_id": str(alice.pk)}
    )
    assert response.status_code == 404


def test_the_platforms_own_books_are_not_the_customers(alice_api, alice, fakebooks) -> None:
    platform = connect(None)
    transfer = create_transfer(alice)
    job_through(platform, object_type="transfer", object_id=transfer.reference, action="invoice")
    response = alice_api.get(
        "/accounting/sync-status", {"object_type": "transfer", "object_id": transfer.reference}
    )
    assert body(response)["jobs"] == []
    assert body(alice_api.get("/accounting/connections"))["results"] == []


def test_a_token_without_the_scope_is_refused(client, alice, alice_books) -> None:
    api = api_for(client, issue_client(alice, [TRANSFERS_READ]))
    for path in (
        "/accounting/connections",
        f"/accounting/connections/{alice_books.pk}",
        "/accounting/sync-status?object_type=profile&object_id=1",
    ):
        response = api.get(path)
        assert response.status_code == 403, path
        assert body(response)["required_scopes"] == [ACCOUNTING_SYNC]
    response = api.post("/accounting/connections", {"provider": PROVIDER})
    assert response.status_code == 403


def test_the_schema_documents_the_accounting_endpoints(alice_api) -> None:
    schema = alice_api.client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    text = schema.content.decode()
    for path in (
        "/api/v1/accounting/connections",
        "/api/v1/accounting/connections/{connection_id}",
        "/api/v1/accounting/sync-status",
    ):
        assert path in text, path
    assert ACCOUNTING_SYNC in text


# --- the browser's callback ---------------------------------------------------------------


def started_state(alice) -> str:
    from integrations.sync import services
    from tests.sync.conftest import OPS

    _, url = services.connection_start(actor=OPS, provider=PROVIDER, profile_id=alice.pk)
    return state_of(url)


def test_callback_with_an_unknown_state(client, fakebooks) -> None:
    page = client.get(CALLBACK, {"state": "made-up", "code": "good"})
    assert page.status_code == 400
    assert b"unknown authorization state" in page.content


def test_callback_state_is_single_use(client, alice, fakebooks, token_server) -> None:
    state = started_state(alice)
    assert client.get(CALLBACK, {"state": state, "code": "good"}).status_code == 200
    again = client.get(CALLBACK, {"state": state, "code": "good"})
    assert again.status_code == 400
    assert b"already used" in again.content
    assert len(token_server.requests) == 1  # the code was exchanged once


def test_callback_with_an_expired_state(client, alice, fakebooks) -> None:
    state = started_state(alice)
    OAuthAuthorization.objects.filter(state=state).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    page = client.get(CALLBACK, {"state": state, "code": "good"})
    assert page.status_code == 400
    assert b"expired" in page.content


def test_callback_refused_by_the_provider_spends_the_state(client, alice, fakebooks) -> None:
    state = started_state(alice)
    page = client.get(CALLBACK, {"state": state, "code": "bad"})
    assert page.status_code == 400
    assert b"refused the authorization" in page.content
    declined = started_state(alice)
    page = client.get(CALLBACK, {"state": declined, "error": "access_denied"})
    assert b"access_denied" in page.content
    assert OAuthAuthorization.objects.get(state=declined).used_at is not None
    assert Connection.objects.get(profile=alice).status == "authorizing"


def test_callback_without_a_state_or_code(client) -> None:
    page = client.get(CALLBACK)
    assert page.status_code == 400
    assert b"incomplete" in page.content


def test_choose_the_organisation_when_the_sign_in_reaches_several(
    alice_api, fakebooks, client, carol
) -> None:
    from integrations.sync.adapters import Tenant

    fakebooks.tenant_list = [Tenant("t-1", "Alice Books"), Tenant("t-2", "Alice Holdings")]
    started = body(alice_api.post("/accounting/connections", {"provider": PROVIDER}))
    page = client.get(CALLBACK, {"state": state_of(started["authorization_url"]), "code": "ok"})
    assert b"choose the organisation" in page.content
    detail = body(alice_api.get(f"/accounting/connections/{started['id']}"))
    assert detail["status"] == "select_tenant"
    assert [t["name"] for t in detail["available_tenants"]] == ["Alice Books", "Alice Holdings"]
    path = f"/accounting/connections/{started['id']}/tenant"
    carol_api = api_for(client, issue_client(carol, [ACCOUNTING_SYNC]))
    assert carol_api.post(path, {"tenant_id": "t-2"}).status_code == 404
    refused = alice_api.post(path, {"tenant_id": "t-9"})
    assert refused.status_code == 400
    assert body(refused)["errors"][0]["field"] == "tenant_id"
    chosen = alice_api.post(path, {"tenant_id": "t-2"})
    assert chosen.status_code == 200, chosen.content
    assert (body(chosen)["status"], body(chosen)["tenant_name"]) == ("active", "Alice Holdings")
    assert alice_api.post(path, {"tenant_id": "t-1"}).status_code == 409  # it stays
