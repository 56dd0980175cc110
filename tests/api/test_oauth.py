"""OAuth 2.0: client credentials and authorization code + PKCE (S256) through DOT's endpoints,
with scopes limited per application and tokens bound to one business."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from oauth2_provider.models import AccessToken, Application, RefreshToken

from fintech.api.models import ApiClient
from fintech.api.scopes import ALL_SCOPES, PROFILES_READ, QUOTES_WRITE, TRANSFERS_READ
from fintech.customers.models import Membership
from tests.api.conftest import (
    Api,
    authorize,
    basic_auth,
    code_from,
    exchange_code,
    fetch_token,
    issue_client,
    issue_web_client,
    pkce_pair,
)
from tests.builders import build_user

pytestmark = pytest.mark.django_db


def body(response) -> dict:
    return json.loads(response.content)


class TestClientCredentials:
    def test_a_token_gets_the_granted_scopes_by_default(self, client, alice) -> None:
        issued = issue_client(alice, [PROFILES_READ, TRANSFERS_READ])
        token = fetch_token(client, issued)
        assert token["status"] == 200
        assert set(token["scope"].split()) == {PROFILES_READ, TRANSFERS_READ}
        assert token["expires_in"] == 3600
        assert "refresh_token" not in token

    def test_a_token_may_ask_for_fewer_scopes(self, client, alice) -> None:
        issued = issue_client(alice, [PROFILES_READ, TRANSFERS_READ])
        assert fetch_token(client, issued, PROFILES_READ)["scope"] == PROFILES_READ

    def test_asking_for_a_scope_not_granted_is_invalid_scope(self, client, alice) -> None:
        issued = issue_client(alice, [PROFILES_READ])
        token = fetch_token(client, issued, f"{PROFILES_READ} {TRANSFERS_READ}")
        assert token["status"] == 400
        assert token["error"] == "invalid_scope"
        assert not AccessToken.objects.filter(application__name__startswith="Alice").exists()

    def test_an_application_without_a_binding_gets_nothing(self, client, alice) -> None:
        issued = issue_client(alice, [PROFILES_READ])
        ApiClient.objects.all().delete()
        assert fetch_token(client, issued, PROFILES_READ)["error"] == "invalid_scope"

    def test_secrets_and_tokens_are_stored_hashed(self, client, alice) -> None:
        issued = issue_client(alice, [PROFILES_READ])
        application = Application.objects.get(client_id=issued.client_id)
        assert application.client_secret != issued.client_secret
        assert issued.client_secret not in application.client_secret
        fetch_token(client, issued)
        token = AccessToken.objects.get(application__client_id=issued.client_id)
        assert token.token == ""  # only its checksum is kept
        assert token.token_checksum

    def test_a_wrong_secret_is_refused(self, client, alice) -> None:
        issued = issue_client(alice, [PROFILES_READ])
        response = client.post(
            "/o/token/",
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION=basic_auth(
                issued.__class__(issued.api_client, issued.client_id, "x")
            ),
        )
        assert response.status_code == 401
        assert body(response)["error"] == "invalid_client"

    def test_the_password_grant_is_refused(self, client, alice, alice_user) -> None:
        issued = issue_client(alice, [PROFILES_READ])
        response = client.post(
            "/o/token/",
            {"grant_type": "password", "username": "alice", "password": "x"},
            HTTP_AUTHORIZATION=basic_auth(issued),
        )
        assert response.status_code in (400, 401)
        assert not AccessToken.objects.filter(application__name__startswith="Alice").exists()

    def test_introspection_and_revocation(self, client, alice) -> None:
        issued = issue_client(alice, [PROFILES_READ])
        access = fetch_token(client, issued)["access_token"]
        auth = {"HTTP_AUTHORIZATION": basic_auth(issued)}
        info = body(client.post("/o/introspect/", {"token": access}, **auth))
        assert info["active"] is True
        assert info["client_id"] == issued.client_id
        assert info["scope"] == PROFILES_READ
        api = Api(client=client, token=access)
        assert api.get("/profile").status_code == 200

        assert client.post("/o/revoke_token/", {"token": access}, **auth).status_code == 200
        assert body(client.post("/o/introspect/", {"token": access}, **auth))["active"] is False
        assert api.get("/profile").status_code == 401

    def test_a_withdrawn_scope_stops_working_before_the_token_expires(self, client, alice) -> None:
        issued = issue_client(alice, [PROFILES_READ, TRANSFERS_READ])
        api = Api(client=client, token=fetch_token(client, issued)["access_token"])
        assert api.get("/transfers").status_code == 200
        ApiClient.objects.filter(pk=issued.api_client.pk).update(scopes=[PROFILES_READ])
        response = api.get("/transfers")
        assert response.status_code == 403
        assert body(response)["required_scopes"] == [TRANSFERS_READ]


class TestAuthorizationCodeWithPkce:
    def test_a_member_authorises_and_the_app_acts_for_the_business(
        self, client, alice, alice_user
    ) -> None:
        issued = issue_web_client(alice, [PROFILES_READ, QUOTES_WRITE])
        client.force_login(alice_user)
        verifier, challenge = pkce_pair()
        location = authorize(client, issued, scope=PROFILES_READ, challenge=challenge)
        assert location.startswith("https://erp.example.com/callback?")
        assert "state=st-1" in location
        status, token = exchange_code(Client(), issued, code_from(location), verifier)
        assert status == 200, token
        assert token["scope"] == PROFILES_READ
        assert token["refresh_token"]

        api = Api(client=Client(), token=token["access_token"])
        assert body(api.get("/profile"))["id"] == alice.pk
        assert api.post("/quotes", {}).status_code == 403  # not in this token's scope

    def test_the_audit_names_the_app_and_the_user(self, client, alice, alice_user) -> None:
        from fintech.core.models import AuditEvent

        issued = issue_web_client(alice, [QUOTES_WRITE])
        client.force_login(alice_user)
        verifier, challenge = pkce_pair()
        code = code_from(authorize(client, issued, scope=QUOTES_WRITE, challenge=challenge))
        token = exchange_code(Client(), issued, code, verifier)[1]["access_token"]
        response = Api(client=Client(), token=token).post(
            "/quotes", {"source_currency": "GBP", "target_currency": "EUR", "source_amount": "5.00"}
        )
        assert response.status_code == 201
        audit = AuditEvent.objects.get(
            action="quote.create", actor_label__contains=issued.client_id
        )
        assert audit.actor_label == f"app:{issued.client_id} user:alice"
        assert audit.actor_id == alice_user.pk

    def test_a_wrong_verifier_is_refused(self, client, alice, alice_user) -> None:
        issued = issue_web_client(alice, [PROFILES_READ])
        client.force_login(alice_user)
        _, challenge = pkce_pair()
        code = code_from(authorize(client, issued, scope=PROFILES_READ, challenge=challenge))
        other_verifier, _ = pkce_pair()
        status, token = exchange_code(Client(), issued, code, other_verifier)
        assert status == 400
        assert token["error"] == "invalid_grant"

    def test_pkce_is_required(self, client, alice, alice_user) -> None:
        issued = issue_web_client(alice, [PROFILES_READ])
        client.force_login(alice_user)
        response = client.get(
            "/o/authorize/",
            {
                "response_type": "code",
                "client_id": issued.client_id,
                "redirect_uri": "https://erp.example.com/callback",
                "scope": PROFILES_READ,
            },
        )
        # No code is issued: an error (on the page, or on the redirect).
        assert "code=" not in response.get("Location", "")
        assert "error" in (response.get("Location", "") + response.content.decode()).lower()

    def test_plain_pkce_is_refused(self, client, alice, alice_user) -> None:
        issued = issue_web_client(alice, [PROFILES_READ])
        client.force_login(alice_user)
        location = authorize(
            client, issued, scope=PROFILES_READ, challenge="x" * 43, method="plain"
        )
        assert code_from(location) is None
        assert "error=" in location

    def test_only_a_member_of_the_business_can_authorise(self, client, alice) -> None:
        mallory = build_user("mallory")
        issued = issue_web_client(alice, [PROFILES_READ])
        client.force_login(mallory)
        _, challenge = pkce_pair()
        location = authorize(client, issued, scope=PROFILES_READ, challenge=challenge)
        assert code_from(location) is None
        assert "error=access_denied" in location

    def test_a_token_dies_with_the_membership(self, client, alice, alice_user) -> None:
        issued = issue_web_client(alice, [PROFILES_READ])
        client.force_login(alice_user)
        verifier, challenge = pkce_pair()
        code = code_from(authorize(client, issued, scope=PROFILES_READ, challenge=challenge))
        api = Api(
            client=Client(),
            token=exchange_code(Client(), issued, code, verifier)[1]["access_token"],
        )
        assert api.get("/profile").status_code == 200
        Membership.objects.filter(user=alice_user, profile=alice).delete()
        response = api.get("/profile")
        assert response.status_code == 401
        assert body(response)["code"] == "invalid_token"

    def test_refresh_tokens_rotate_and_a_reused_one_is_refused(
        self, client, alice, alice_user
    ) -> None:
        issued = issue_web_client(alice, [PROFILES_READ])
        client.force_login(alice_user)
        verifier, challenge = pkce_pair()
        code = code_from(authorize(client, issued, scope=PROFILES_READ, challenge=challenge))
        first = exchange_code(Client(), issued, code, verifier)[1]

        def refresh(refresh_token: str):
            response = Client().post(
                "/o/token/",
                {"grant_type": "refresh_token", "refresh_token": refresh_token},
                HTTP_AUTHORIZATION=basic_auth(issued),
            )
            return response.status_code, json.loads(response.content)

        status, second = refresh(first["refresh_token"])
        assert status == 200
        assert second["refresh_token"] != first["refresh_token"]
        assert Api(client=Client(), token=first["access_token"]).get("/profile").status_code == 401
        assert Api(client=Client(), token=second["access_token"]).get("/profile").status_code == 200

        status, reused = refresh(first["refresh_token"])
        assert status == 400
        assert reused["error"] == "invalid_grant"
        # Reuse protection: the whole family is revoked, the newest token included.
        assert not RefreshToken.objects.filter(
            application__client_id=issued.client_id, revoked__isnull=True
        ).exists()

    def test_a_refresh_does_not_restore_a_withdrawn_scope(self, client, alice, alice_user) -> None:
        issued = issue_web_client(alice, [PROFILES_READ, TRANSFERS_READ])
        client.force_login(alice_user)
        verifier, challenge = pkce_pair()
        scope = f"{PROFILES_READ} {TRANSFERS_READ}"
        code = code_from(authorize(client, issued, scope=scope, challenge=challenge))
        first = exchange_code(Client(), issued, code, verifier)[1]
        ApiClient.objects.filter(pk=issued.api_client.pk).update(scopes=[PROFILES_READ])
        response = Client().post(
            "/o/token/",
            {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            HTTP_AUTHORIZATION=basic_auth(issued),
        )
        assert response.status_code == 200
        assert json.loads(response.content)["scope"] == PROFILES_READ


def test_every_scope_is_known_to_the_token_endpoint(client, alice) -> None:
    issued = issue_client(alice)
    assert set(fetch_token(client, issued)["scope"].split()) == set(ALL_SCOPES)
