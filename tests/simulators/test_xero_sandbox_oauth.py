"""The sandbox's identity server with authlib's OAuth2Session (what our connector uses): the
authorization code flow with PKCE, single-use codes and refresh tokens, expiry, revocation,
connections."""

from __future__ import annotations

import base64
import time

import pytest
import requests
from django.conf import settings as django_settings

from integrations.models import XeroSandboxGrant
from tests.simulators.conftest import REDIRECT_URI, authorize, oauth_session

pytestmark = pytest.mark.django_db(transaction=True)


def basic() -> dict[str, str]:
    pair = f"{django_settings.XERO_SANDBOX_CLIENT_ID}:{django_settings.XERO_SANDBOX_CLIENT_SECRET}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def test_the_whole_dance_with_pkce_and_a_single_use_refresh_token(sandbox) -> None:
    rotated: list[dict] = []
    session = oauth_session(
        sandbox, update_token=lambda token, refresh_token=None: rotated.append(token)
    )
    token = authorize(session, sandbox)
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 1800
    assert "offline_access" in token["scope"].split()
    first_refresh = token["refresh_token"]

    connections = session.get(f"{sandbox}/connections", timeout=10)
    assert connections.status_code == 200
    (connection,) = connections.json()
    assert connection["tenantType"] == "ORGANISATION"
    assert connection["tenantName"] == "Demo Org (sandbox)"
    assert {"id", "tenantId", "createdDateUtc", "updatedDateUtc", "authEventId"} <= set(connection)

    refreshed = session.refresh_token(f"{sandbox}/identity/connect/token")
    assert refreshed["refresh_token"] != first_refresh
    assert refreshed["access_token"] != token["access_token"]
    assert rotated[-1]["refresh_token"] == refreshed["refresh_token"]  # the update_token hook
    assert session.get(f"{sandbox}/connections", timeout=10).status_code == 200

    # The spent refresh token is refused: single use, as at Xero.
    replay = requests.post(
        f"{sandbox}/identity/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": first_refresh},
        headers=basic(),
        timeout=10,
    )
    assert replay.status_code == 400
    assert replay.json() == {"error": "invalid_grant"}
    # Only hashes are stored.
    assert not XeroSandboxGrant.objects.filter(token_hash=first_refresh).exists()


def test_a_code_is_single_use_and_bound_to_its_verifier_and_redirect(sandbox) -> None:
    session = oauth_session(sandbox)
    verifier = "v" * 50
    url, _state = session.create_authorization_url(
        f"{sandbox}/identity/connect/authorize", code_verifier=verifier
    )
    location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
    code = dict(p.split("=", 1) for p in location.split("?", 1)[1].split("&"))["code"]
    token_url = f"{sandbox}/identity/connect/token"

    def exchange(**overrides: str) -> requests.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            **overrides,
        }
        return requests.post(token_url, data=form, headers=basic(), timeout=10)

    assert exchange(code_verifier="w" * 50).json() == {
        "error": "invalid_grant",
        "error_description": "code_verifier does not match",
    }
    # The failed attempt spent the code (as an attacker's guess must).
    assert exchange().json()["error"] == "invalid_grant"

    location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
    code = dict(p.split("=", 1) for p in location.split("?", 1)[1].split("&"))["code"]
    assert exchange(redirect_uri="http://127.0.0.1:9/other").json()["error"] == "invalid_grant"


def test_bad_client_credentials_are_refused(sandbox) -> None:
    refused = requests.post(
        f"{sandbox}/identity/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=(django_settings.XERO_SANDBOX_CLIENT_ID, "wrong"),
        timeout=10,
    )
    assert refused.status_code == 401
    assert refused.json() == {"error": "invalid_client"}


def test_an_expired_access_token_is_refused_until_refreshed(sandbox, settings) -> None:
    settings.XERO_SANDBOX_ACCESS_TOKEN_SECONDS = 1
    session = oauth_session(sandbox)
    authorize(session, sandbox)
    tenant = session.get(f"{sandbox}/connections", timeout=10).json()[0]["tenantId"]
    time.sleep(1.2)
    expired = requests.get(
        f"{sandbox}/api.xro/2.0/Organisation",
        headers={
            "Authorization": f"Bearer {session.token['access_token']}",
            "xero-tenant-id": tenant,
        },
        timeout=10,
    )
    assert expired.status_code == 401
    assert expired.json()["Detail"].startswith("TokenExpired")
    # authlib sees the token expired and refreshes it before the call.
    settings.XERO_SANDBOX_ACCESS_TOKEN_SECONDS = 1800
    again = session.get(
        f"{sandbox}/api.xro/2.0/Organisation",
        headers={"xero-tenant-id": tenant, "Accept": "application/json"},
        timeout=10,
    )
    assert again.status_code == 200, again.text
    assert again.json()["Organisations"][0]["BaseCurrency"] == "GBP"


def test_revocation_ends_the_tokens_and_the_connections(sandbox) -> None:
    session = oauth_session(sandbox)
    token = authorize(session, sandbox)
    revoked = requests.post(
        f"{sandbox}/identity/connect/revocation",
        data={"token": token["refresh_token"]},
        headers=basic(),
        timeout=10,
    )
    assert revoked.status_code == 200
    assert session.get(f"{sandbox}/connections", timeout=10).status_code == 401
    refresh = requests.post(
        f"{sandbox}/identity/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        headers=basic(),
        timeout=10,
    )
    assert refresh.json() == {"error": "invalid_grant"}


def test_a_disconnected_tenant_is_forbidden(xero) -> None:
    (connection,) = xero.session.get(f"{xero.base}/connections", timeout=10).json()
    assert xero.call("GET", "Organisation").status_code == 200
    gone = xero.session.delete(f"{xero.base}/connections/{connection['id']}", timeout=10)
    assert gone.status_code == 204
    forbidden = xero.call("GET", "Organisation")
    assert forbidden.status_code == 403
    assert forbidden.json()["Title"] == "Forbidden"
    assert xero.session.get(f"{xero.base}/connections", timeout=10).json() == []


def test_a_token_reaches_only_what_its_scopes_grant(sandbox) -> None:
    session = oauth_session(sandbox)
    session.scope = "offline_access accounting.contacts.read accounting.invoices"
    authorize(session, sandbox)
    tenant = session.get(f"{sandbox}/connections", timeout=10).json()[0]["tenantId"]
    headers = {"xero-tenant-id": tenant, "Accept": "application/json"}
    api = f"{sandbox}/api.xro/2.0"
    assert session.get(f"{api}/Contacts", headers=headers, timeout=10).status_code == 200
    write = session.put(f"{api}/Contacts", json={"Name": "Bob"}, headers=headers, timeout=10)
    assert write.status_code == 403
    assert "accounting.contacts" in write.json()["Detail"]
    assert session.get(f"{api}/Invoices", headers=headers, timeout=10).status_code == 200
    assert session.get(f"{api}/Payments", headers=headers, timeout=10).status_code == 403
