"""Intuit's OAuth 2.0 in the sandbox with authlib's OAuth2Session (what our connector uses):
the code flow with PKCE and realmId, rotating refresh tokens (a racing refresh gets the same
successor within the grace, a spent one is refused after it), expiry, a refused refresh
(reconnect required) and revocation."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from integrations.models import QuickBooksSandboxGrant
from integrations.simulators.oauth import token_hash
from tests.simulators.quickbooks import REDIRECT_URI, authorize, basic, oauth_session

pytestmark = pytest.mark.django_db(transaction=True)


def refresh(base: str, token: str) -> requests.Response:
    return requests.post(
        f"{base}/oauth2/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers={**basic(), "Accept": "application/json"},
        timeout=10,
    )


def test_the_whole_dance_gives_intuits_token_answer_and_the_realm(qbo_sandbox) -> None:
    rotated: list[dict] = []
    session = oauth_session(
        qbo_sandbox, update_token=lambda token, refresh_token=None: rotated.append(token)
    )
    token, realm_id = authorize(session, qbo_sandbox)
    assert realm_id.isdigit()
    assert len(realm_id) == 16
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 3600
    assert token["x_refresh_token_expires_in"] == 100 * 86400
    api = f"{qbo_sandbox}/v3/company/{realm_id}"
    info = session.get(f"{api}/companyinfo/{realm_id}", headers={"Accept": "application/json"})
    assert info.status_code == 200, info.text
    assert info.json()["CompanyInfo"]["CompanyName"] == "Demo Company (sandbox)"

    first_refresh = token["refresh_token"]
    refreshed = session.refresh_token(f"{qbo_sandbox}/oauth2/tokens/bearer")
    assert refreshed["refresh_token"] != first_refresh  # rotated
    assert rotated[-1]["refresh_token"] == refreshed["refresh_token"]
    prefs = session.get(f"{api}/preferences", headers={"Accept": "application/json"}).json()
    assert prefs["Preferences"]["CurrencyPrefs"] == {
        "MultiCurrencyEnabled": True,
        "HomeCurrency": {"value": "GBP", "name": "British Pound Sterling"},
    }
    # Only hashes of tokens are kept.
    assert not QuickBooksSandboxGrant.objects.filter(token_hash=first_refresh).exists()


def test_a_spent_refresh_token_answers_its_successor_in_the_grace_then_invalid_grant(
    qbo_sandbox, settings
) -> None:
    session = oauth_session(qbo_sandbox)
    token, _realm = authorize(session, qbo_sandbox)
    spent = token["refresh_token"]
    first = refresh(qbo_sandbox, spent)
    assert first.status_code == 200, first.text
    again = refresh(qbo_sandbox, spent)  # a second worker with the old token, moments later
    assert again.status_code == 200
    assert again.json()["refresh_token"] == first.json()["refresh_token"]
    assert again.json()["access_token"] != first.json()["access_token"]

    QuickBooksSandboxGrant.objects.filter(token_hash=token_hash(spent)).update(
        used_at=timezone.now()
        - timedelta(seconds=settings.QUICKBOOKS_SANDBOX_REFRESH_GRACE_SECONDS + 1)
    )
    late = refresh(qbo_sandbox, spent)
    assert late.status_code == 400
    assert late.json()["error"] == "invalid_grant"
    # The successor still works, and rotates in turn.
    assert refresh(qbo_sandbox, first.json()["refresh_token"]).status_code == 200


def test_racing_refreshes_with_one_token_end_with_one_refresh_token(qbo_sandbox) -> None:
    session = oauth_session(qbo_sandbox)
    token, _realm = authorize(session, qbo_sandbox)
    answers: list[requests.Response] = []
    start = threading.Barrier(4)

    def racer() -> None:
        start.wait()
        answers.append(refresh(qbo_sandbox, token["refresh_token"]))

    threads = [threading.Thread(target=racer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.json()["refresh_token"] for a in answers}) == 1
    assert len({a.json()["access_token"] for a in answers}) == 4


def test_with_no_grace_a_spent_refresh_token_is_refused_at_once(qbo_sandbox, settings) -> None:
    settings.QUICKBOOKS_SANDBOX_REFRESH_GRACE_SECONDS = 0
    session = oauth_session(qbo_sandbox)
    token, _realm = authorize(session, qbo_sandbox)
    assert refresh(qbo_sandbox, token["refresh_token"]).status_code == 200
    assert refresh(qbo_sandbox, token["refresh_token"]).json() == {"error": "invalid_grant"}


def test_an_expired_refresh_token_and_an_expired_access_token(qbo_sandbox) -> None:
    session = oauth_session(qbo_sandbox)
    token, realm_id = authorize(session, qbo_sandbox)
    past = timezone.now() - timedelta(seconds=1)
    QuickBooksSandboxGrant.objects.filter(token_hash=token_hash(token["access_token"])).update(
        expires_at=past
    )
    expired = requests.get(
        f"{qbo_sandbox}/v3/company/{realm_id}/preferences",
        headers={"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"},
        timeout=10,
    )
    assert expired.status_code == 401
    fault = expired.json()["Fault"]
    assert fault["type"] == "AuthenticationFault"
    assert fault["Error"][0]["code"] == "3200"
    assert "expired" in fault["Error"][0]["Detail"].lower()

    QuickBooksSandboxGrant.objects.filter(token_hash=token_hash(token["refresh_token"])).update(
        expires_at=past
    )
    assert refresh(qbo_sandbox, token["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_company_steered_to_refuse_refreshes_answers_invalid_grant(qbo) -> None:
    assert qbo.control("", {"refuse_refresh": True}).json()["refuse_refresh"] is True
    token = qbo.session.token["refresh_token"]
    refused = refresh(qbo.base, token)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    qbo.control("", {"refuse_refresh": False})
    assert refresh(qbo.base, token).status_code == 200  # the token was not spent


def test_revoke_ends_the_whole_family(qbo) -> None:
    access = qbo.session.token["access_token"]
    revoked = requests.post(
        f"{qbo.base}/oauth2/revoke",
        json={"token": qbo.session.token["refresh_token"]},
        headers={**basic(), "Accept": "application/json"},
        timeout=10,
    )
    assert revoked.status_code == 200
    answer = qbo.call("GET", "preferences")
    assert answer.status_code == 401
    assert answer.json()["Fault"]["type"] == "AuthenticationFault"
    assert access == qbo.session.token["access_token"]
    assert refresh(qbo.base, qbo.session.token["refresh_token"]).status_code == 400


def test_bad_clients_codes_and_realms_are_refused(qbo_sandbox, qbo) -> None:
    bad_client = requests.post(
        f"{qbo_sandbox}/oauth2/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=("quickbooks-sandbox-app", "wrong"),
        timeout=10,
    )
    assert (bad_client.status_code, bad_client.json()) == (401, {"error": "invalid_client"})
    no_scope = requests.get(
        f"{qbo_sandbox}/oauth2/authorize",
        params={
            "client_id": "quickbooks-sandbox-app",
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid",
            "state": "s",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert "error=invalid_scope" in no_scope.headers["Location"]
    unknown = qbo.session.get(
        f"{qbo_sandbox}/v3/company/123/preferences", headers={"Accept": "application/json"}
    )
    assert unknown.status_code == 401
    assert unknown.json()["Fault"]["type"] == "AuthenticationFault"
    other = connect_default_realm(qbo_sandbox)
    foreign = qbo.session.get(
        f"{qbo_sandbox}/v3/company/{other}/preferences", headers={"Accept": "application/json"}
    )
    assert foreign.status_code == 403
    assert foreign.json()["Fault"]["type"] == "AuthorizationFault"


def connect_default_realm(base: str) -> str:
    _token, realm_id = authorize(oauth_session(base), base)
    return realm_id
