"""The CRM sandbox over real HTTP: HubSpot's OAuth (authlib, as our connector uses it), a
private app token, bodies checked with hubspot-api-client's models, search by our reference,
property refusals, limits and faults, and webhooks signed as hubspot-api-client verifies."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings as django_settings
from hubspot.utils.signature import Signature

from integrations.hubspot_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER
from integrations.models import CrmSandboxRequest, CrmSandboxWebhook
from integrations.simulators.crm import webhooks
from tests.connectors.crm.conftest import control
from tests.integrations.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
REDIRECT_URI = "http://127.0.0.1:9/crm/callback"


@pytest.fixture
def crm(live_server, settings, monkeypatch) -> str:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    settings.CRM_SANDBOX_BASE_URL = f"{live_server.url}/sandbox/crm"
    return settings.CRM_SANDBOX_BASE_URL


@pytest.fixture
def portal(crm) -> dict[str, Any]:
    """A portal, its private app token and one custom property (our reference, unique)."""
    made = control("portals", {"name": "Acme CRM"})
    first = api(
        crm,
        made["private_app_token"],
        "POST",
        "crm/v3/properties/companies",
        {
            "name": "fintech_profile_ref",
            "label": "Ref",
            "type": "string",
            "fieldType": "text",
            "groupName": "fintech",
            "hasUniqueValue": True,
        },
    )
    assert first.status_code == 201, first.text
    second = api(
        crm,
        made["private_app_token"],
        "POST",
        "crm/v3/properties/companies",
        {
            "name": "fintech_onboarding_stage",
            "label": "Stage",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": "fintech",
            "options": [
                {"label": "lead", "value": "lead", "displayOrder": 0, "hidden": False},
                {"label": "active", "value": "active", "displayOrder": 1, "hidden": False},
            ],
        },
    )
    assert second.status_code == 201, second.text
    return made


def api(base: str, token: str, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method,
        f"{base}/{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_oauth_code_with_pkce_then_refresh(crm) -> None:
    session = OAuth2Session(
        django_settings.CRM_SANDBOX_CLIENT_ID,
        django_settings.CRM_SANDBOX_CLIENT_SECRET,
        scope="crm.objects.companies.write",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    verifier = generate_token(48)
    url, _ = session.create_authorization_url(f"{crm}/oauth/authorize", code_verifier=verifier)
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    token = session.fetch_token(
        f"{crm}/oauth/v1/token",
        authorization_response=answer.headers["Location"],
        code_verifier=verifier,
    )
    info = requests.get(f"{crm}/oauth/v1/access-tokens/{token['access_token']}", timeout=10).json()
    assert isinstance(info["hub_id"], int)
    assert api(crm, token["access_token"], "GET", "crm/v3/owners").status_code == 200
    refreshed = session.refresh_token(f"{crm}/oauth/v1/token", refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    # HubSpot's refresh tokens do not rotate: the same one works again.
    assert session.refresh_token(f"{crm}/oauth/v1/token", refresh_token=token["refresh_token"])
    # A code is used once.
    code = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))["code"]
    again = requests.post(
        f"{crm}/oauth/v1/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": django_settings.CRM_SANDBOX_CLIENT_ID,
            "client_secret": django_settings.CRM_SANDBOX_CLIENT_SECRET,
        },
        timeout=10,
    )
    assert again.status_code == 400
    assert again.json()["status"] == "BAD_AUTH_CODE"


def test_no_token_is_401_in_hubspots_shape(crm) -> None:
    answer = api(crm, "nope", "GET", "crm/v3/owners")
    assert answer.status_code == 401
    assert answer.json()["category"] == "INVALID_AUTHENTICATION"


def test_companies_are_created_validated_and_found_by_our_reference(crm, portal) -> None:
    token = portal["private_app_token"]
    made = api(
        crm,
        token,
        "POST",
        "crm/v3/objects/companies",
        {
            "properties": {
                "name": "Alice Ltd",
                "fintech_profile_ref": "PRF-1",
                "fintech_onboarding_stage": "lead",
            },
            "associations": [],
        },
    )
    assert made.status_code == 201, made.text
    found = api(
        crm,
        token,
        "POST",
        "crm/v3/objects/companies/search",
        {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "fintech_profile_ref", "operator": "EQ", "value": "PRF-1"}
                    ]
                }
            ],
            "limit": 2,
        },
    ).json()
    assert found["total"] == 1
    assert found["results"][0]["id"] == made.json()["id"]
    # The unique reference: a second company with it is a conflict naming the first.
    twice = api(
        crm,
        token,
        "POST",
        "crm/v3/objects/companies",
        {"properties": {"name": "Alice again", "fintech_profile_ref": "PRF-1"}, "associations": []},
    )
    assert twice.status_code == 409
    assert f"Existing ID: {made.json()['id']}" in twice.json()["message"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"properties": {"name": "x"}, "associations": [], "iban": "GB82"}, "iban: not a field"),
        ({"properties": {"name": 5}, "associations": []}, "properties.name: 5"),
        ({"associations": []}, "`properties`, must not be `None`"),
        (
            {"properties": {"fintech_onboarding_stage": "vip"}, "associations": []},
            "allowed options",
        ),
        ({"properties": {"bank_account": "1234"}, "associations": []}, 'Property "bank_account"'),
        ({"properties": {"hubspot_owner_id": "999"}, "associations": []}, "not a valid owner id"),
    ],
)
def test_bodies_hubspot_would_refuse_are_refused(crm, portal, body, expected) -> None:
    answer = api(crm, portal["private_app_token"], "POST", "crm/v3/objects/companies", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert expected in answer.json()["message"]


def test_properties_are_created_once_and_refused_on_demand(crm, portal) -> None:
    token = portal["private_app_token"]
    definition = {
        "name": "fintech_kyc_status",
        "label": "KYC",
        "type": "string",
        "fieldType": "text",
        "groupName": "fintech",
    }
    assert (
        api(crm, token, "GET", "crm/v3/properties/companies/fintech_kyc_status").status_code == 404
    )
    assert api(crm, token, "POST", "crm/v3/properties/companies", definition).status_code == 201
    assert api(crm, token, "POST", "crm/v3/properties/companies", definition).status_code == 409
    bad = api(crm, token, "POST", "crm/v3/properties/companies", {**definition, "type": "money"})
    assert bad.status_code == 400
    assert "Invalid value for `type`" in bad.text
    control(str(portal["portal_id"]), {"refuse_properties": True})
    refused = api(crm, token, "POST", "crm/v3/properties/companies", {**definition, "name": "x2"})
    assert refused.status_code == 403
    assert refused.json()["category"] == "MISSING_SCOPES"


def test_throttling_per_10_seconds_and_per_day_in_hubspots_shape(crm, portal) -> None:
    token, pid = portal["private_app_token"], str(portal["portal_id"])
    control(pid, {"rate_per_10s": 3, "reset_limits": True})
    answers = [api(crm, token, "GET", "crm/v3/owners") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["X-HubSpot-RateLimit-Max"] == "3"
    assert answers[2].headers["X-HubSpot-RateLimit-Remaining"] == "0"
    body = answers[3].json()
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
    control(pid, {"rate_per_10s": 100, "rate_per_day": 1, "reset_limits": True})
    assert api(crm, token, "GET", "crm/v3/owners").status_code == 200
    daily = api(crm, token, "GET", "crm/v3/owners")
    assert daily.status_code == 429
    assert daily.json()["policyName"] == "DAILY"


def test_faults_on_demand(crm, portal) -> None:
    token, pid = portal["private_app_token"], str(portal["portal_id"])
    control(pid, {"fault_status": 503, "fault_remaining": 2})
    codes = [api(crm, token, "GET", "crm/v3/owners").status_code for _ in range(3)]
    assert codes == [503, 503, 200]


def test_an_owner_change_is_a_webhook_signed_as_hubspot_signs(crm, portal, settings) -> None:
    received: list[dict[str, Any]] = []
    settings.CRM_SANDBOX_WEBHOOK_URL = "http://127.0.0.1:9/never"
    token, pid = portal["private_app_token"], str(portal["portal_id"])
    owner = control(f"{pid}/owners", {"email": "am@example.com", "firstName": "Ada"})
    made = api(
        crm,
        token,
        "POST",
        "crm/v3/objects/companies",
        {"properties": {"name": "Alice Ltd"}, "associations": []},
    ).json()
    control(f"{pid}/objects/companies/{made['id']}", {"hubspot_owner_id": owner["id"]})
    hook = CrmSandboxWebhook.objects.get(portal_id=portal["portal_id"])
    events = json.loads(hook.body)
    assert events[0]["subscriptionType"] == "company.propertyChange"
    assert (events[0]["propertyName"], events[0]["propertyValue"]) == (
        "hubspot_owner_id",
        owner["id"],
    )
    headers = webhooks.signed_headers(url=hook.url, body=hook.body)
    received.append(headers)
    # hubspot-api-client's own helper, the independent oracle, accepts it ...
    assert Signature.is_valid(
        signature=headers[SIGNATURE_HEADER],
        client_secret=django_settings.CRM_SANDBOX_CLIENT_SECRET,
        request_body=hook.body,
        http_uri=hook.url,
        http_method="POST",
        signature_version="v3",
        timestamp=headers[TIMESTAMP_HEADER],
    )
    # ... and refuses it for another body, URI or method.
    for body, uri, method in (
        (hook.body + " ", hook.url, "POST"),
        (hook.body, hook.url + "x", "POST"),
        (hook.body, hook.url, "PUT"),
    ):
        assert not Signature.is_valid(
            signature=headers[SIGNATURE_HEADER],
            client_secret=django_settings.CRM_SANDBOX_CLIENT_SECRET,
            request_body=body,
            http_uri=uri,
            http_method=method,
            signature_version="v3",
            timestamp=headers[TIMESTAMP_HEADER],
        )
    # Not acknowledged (nobody listens on port 9): due again later, never lost.
    assert webhooks.webhook_send(webhook_id=str(hook.pk)) == "retry"
    hook.refresh_from_db()
    assert hook.next_step_at is not None
    assert hook.delivered_at is None
    assert time.time() > 0


def test_latency_answers_late_after_the_change_is_made(crm, portal) -> None:
    token, pid = portal["private_app_token"], str(portal["portal_id"])
    control(pid, {"latency_ms": 5000})
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            f"{crm}/crm/v3/objects/companies",
            json={"properties": {"name": "Late Ltd", "fintech_profile_ref": "PRF-7"}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=1,
        )
    control(pid, {"latency_ms": 0})
    # The client gave up waiting; the company was made all the same.
    [company] = control(f"{pid}/objects/companies", method="GET")["results"]
    assert company["properties"]["fintech_profile_ref"] == "PRF-7"
    # The server still answers the abandoned call (its request log row is its last write):
    # let it finish inside this test, or it writes for a portal this test's flush removed and
    # its error lands in whatever test runs next in this process.
    wait_for(
        lambda: CrmSandboxRequest.objects.filter(
            portal_id=int(pid), method="POST", path__endswith="/crm/v3/objects/companies"
        ).exists(),
        timeout=30,
    )


def test_a_merge_by_a_crm_user_follows_hubspot(crm, portal, settings) -> None:
    settings.CRM_SANDBOX_WEBHOOK_URL = "http://127.0.0.1:9/never"
    token, pid = portal["private_app_token"], str(portal["portal_id"])
    ours = api(
        crm, token, "POST", "crm/v3/objects/contacts",
        {"properties": {"email": "bo@work.example", "firstname": "Bo"}, "associations": []},
    ).json()  # fmt: skip
    theirs = control(
        f"{pid}/objects/contacts", {"properties": {"email": "bo@home.example", "lastname": "Li"}}
    )
    created = CrmSandboxWebhook.objects.get()
    assert json.loads(created.body)[0]["subscriptionType"] == "contact.creation"
    merged = control(
        f"{pid}/merge/contacts", {"primaryObjectId": theirs["id"], "objectIdToMerge": ours["id"]}
    )
    props = merged["properties"]
    assert (props["email"], props["firstname"], props["lastname"]) == (
        "bo@home.example",
        "Bo",
        "Li",
    )
    assert props["hs_additional_emails"] == "bo@work.example"
    assert props["hs_merged_object_ids"] == ours["id"]
    [event] = json.loads(CrmSandboxWebhook.objects.order_by("-created_at").first().body)
    assert event["subscriptionType"] == "contact.merge"
    assert (event["primaryObjectId"], event["mergedObjectIds"], event["newObjectId"]) == (
        int(theirs["id"]),
        [int(ours["id"])],
        int(theirs["id"]),
    )
    # The merged id answers the survivor; a search by the work email finds nothing.
    answer = api(crm, token, "GET", f"crm/v3/objects/contacts/{ours['id']}")
    assert answer.json()["id"] == theirs["id"]
    search = api(
        crm, token, "POST", "crm/v3/objects/contacts/search",
        {"filterGroups": [{"filters": [
            {"propertyName": "email", "operator": "EQ", "value": "bo@work.example"}]}]},
    )  # fmt: skip
    assert search.json()["total"] == 0
