"""HubSpot's webhooks in at /webhooks/hubspot/ over real HTTP: the v3 signature checked as
hubspot-api-client's own helper (the oracle) computes it, a tampered body, method or URI or an
old timestamp refused; an owner change made in the sandbox reaching our profile's account
manager (stored once, processed later, the manager told by an event); an unknown owner or
portal a clear failure that leaves the profile alone."""

from __future__ import annotations

import json
import time

import pytest
import requests
from django.conf import settings as django_settings
from hubspot.utils.signature import Signature

from fintech.compliance.services import compliance_submit
from fintech.core.models import AuditEvent, OutboxEvent
from integrations.hubspot_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_v3, verify_v3
from integrations.inbound.services import inbound_process
from integrations.models import CrmSandboxObject, CrmSandboxWebhook, InboundWebhook
from integrations.simulators.crm import webhooks as sandbox_webhooks
from integrations.sync import services
from integrations.sync.models import SyncJob
from tests.builders import build_profile, build_user
from tests.connectors.crm.conftest import OPS, control, drain, objects

pytestmark = pytest.mark.django_db(transaction=True)
Status = InboundWebhook.Status


def oracle_headers(body: str, uri: str, *, method: str = "POST", age_ms: int = 0) -> dict:
    stamp = str(int(time.time() * 1000) - age_ms)
    signature = Signature.get_signature(
        django_settings.HUBSPOT_CLIENT_SECRET, body, "v3", uri, method, stamp
    )
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature,
        TIMESTAMP_HEADER: stamp,
    }


def events(portal: int | str, **extra: object) -> str:
    return json.dumps(
        [
            {
                "eventId": 1001,
                "subscriptionId": 1,
                "portalId": int(portal),
                "appId": 1,
                "occurredAt": int(time.time() * 1000),
                "subscriptionType": "company.propertyChange",
                "attemptNumber": 0,
                "objectId": 42,
                "propertyName": "hubspot_owner_id",
                "propertyValue": "100",
                **extra,
            }
        ]
    )


def test_our_verifier_agrees_with_hubspots_helper() -> None:
    body, uri, secret = '[{"eventId":1}]', "https://example.test/webhooks/hubspot/", "s3cret"
    stamp = str(int(time.time() * 1000))
    signature = Signature.get_signature(secret, body, "v3", uri, "POST", stamp)
    assert (
        sign_v3(secret=secret, method="POST", uri=uri, body=body, timestamp_ms=int(stamp))
        == signature
    )
    check = dict(secret=secret, method="POST", uri=uri, body=body, timestamp=stamp)
    assert verify_v3(**check, signature=signature) == "valid"
    assert verify_v3(**{**check, "body": body + " "}, signature=signature) == "invalid"
    assert verify_v3(**{**check, "method": "PUT"}, signature=signature) == "invalid"
    assert verify_v3(**{**check, "uri": uri + "?x=1"}, signature=signature) == "invalid"
    old = str(int(stamp) - 301_000)
    stale = Signature.get_signature(secret, body, "v3", uri, "POST", old)
    assert verify_v3(**{**check, "timestamp": old}, signature=stale) == "stale"
    assert verify_v3(**check, signature=None) == "missing"


@pytest.mark.parametrize(
    ("tamper", "status", "code"),
    [
        ({"body": " "}, 401, "signature_invalid"),
        ({"method": "PUT"}, 401, "signature_invalid"),
        ({"uri": "other/"}, 401, "signature_invalid"),
        ({"age_ms": 6 * 60 * 1000}, 400, "timestamp_stale"),
        ({"unsigned": True}, 401, "signature_missing"),
    ],
)
def test_a_tampered_or_old_delivery_is_refused(ours, tamper, status, code) -> None:
    url = f"{ours}/webhooks/hubspot/"
    body = events(1)
    headers = oracle_headers(
        body,
        url + str(tamper.get("uri", "")),
        method=str(tamper.get("method", "POST")),
        age_ms=int(tamper.get("age_ms", 0)),  # type: ignore[call-overload]
    )
    if tamper.get("unsigned"):
        headers.pop(SIGNATURE_HEADER)
    answer = requests.post(
        url, data=body + str(tamper.get("body", "")), headers=headers, timeout=10
    )
    assert (answer.status_code, answer.json()["error"]) == (status, code)
    row = InboundWebhook.objects.get(provider="hubspot")
    assert row.status == Status.REJECTED


def test_a_delivery_from_an_unknown_portal_fails_naming_it(ours) -> None:
    url = f"{ours}/webhooks/hubspot/"
    body = events(424242)
    answer = requests.post(url, data=body, headers=oracle_headers(body, url), timeout=10)
    assert answer.status_code == 200, answer.text
    # The same delivery again is stored once.
    again = requests.post(url, data=body, headers=oracle_headers(body, url), timeout=10)
    assert again.json()["status"] == "duplicate"
    row = InboundWebhook.objects.get(provider="hubspot")
    assert inbound_process(inbound_id=row.pk) == Status.FAILED
    row.refresh_from_db()
    assert "unknown HubSpot portal 424242" in row.error


def test_an_owner_change_in_the_crm_reaches_our_profile(crm) -> None:
    profile = build_profile(verified=False, owner=build_user("dave"))
    drain()
    [company] = objects("companies")
    owner = control(
        f"{crm.tenant_id}/owners",
        {"email": "Ada.Manager@example.com", "firstName": "Ada", "lastName": "Manager"},
    )
    control(f"{crm.tenant_id}/objects/companies/{company.pk}", {"hubspot_owner_id": owner["id"]})
    hook = CrmSandboxWebhook.objects.get()
    # Sent (signed) by the sandbox to our endpoint over HTTP, as the task does.
    assert sandbox_webhooks.webhook_send(webhook_id=str(hook.pk)) == "delivered"
    row = InboundWebhook.objects.get(provider="hubspot")
    assert row.status == Status.RECEIVED
    assert inbound_process(inbound_id=row.pk) == Status.PROCESSED
    profile.refresh_from_db()
    assert (profile.account_manager_email, profile.account_manager_name) == (
        "ada.manager@example.com",
        "Ada Manager",
    )
    told = OutboxEvent.objects.get(type="customer.account_manager_changed")
    assert told.payload["account_manager_email"] == "ada.manager@example.com"
    assert AuditEvent.objects.filter(action="profile.account_manager_set").count() == 1
    # Processing again changes nothing.
    InboundWebhook.objects.filter(pk=row.pk).update(status=Status.RECEIVED)
    assert inbound_process(inbound_id=row.pk) == Status.PROCESSED
    assert OutboxEvent.objects.filter(type="customer.account_manager_changed").count() == 1


def test_an_unknown_owner_is_a_clear_failure_and_the_profile_is_unaffected(crm) -> None:
    profile = build_profile(verified=False, owner=build_user("erin"))
    drain()
    [company] = objects("companies")
    control(f"{crm.tenant_id}/objects/companies/{company.pk}", {"hubspot_owner_id": "999"})
    hook = CrmSandboxWebhook.objects.get()
    assert sandbox_webhooks.webhook_send(webhook_id=str(hook.pk)) == "delivered"
    row = InboundWebhook.objects.get(provider="hubspot")
    assert inbound_process(inbound_id=row.pk) == Status.FAILED
    row.refresh_from_db()
    assert "HubSpot owner 999" in row.error
    assert "unknown to HubSpot" in row.error
    profile.refresh_from_db()
    assert profile.account_manager_email == ""


def deliver_each() -> list[InboundWebhook]:
    """Every webhook the sandbox owes, sent (signed, over HTTP) and processed one by one in
    the order the CRM user made the changes; the rows, in that order."""
    rows = []
    for hook in CrmSandboxWebhook.objects.filter(delivered_at__isnull=True).order_by(
        "created_at", "pk"
    ):
        assert sandbox_webhooks.webhook_send(webhook_id=str(hook.pk)) == "delivered"
        row = InboundWebhook.objects.get(provider="hubspot", status=Status.RECEIVED)
        inbound_process(inbound_id=row.pk)
        row.refresh_from_db()
        rows.append(row)
    return rows


def company_job(profile) -> SyncJob:
    return SyncJob.objects.get(object_type="profile", object_id=str(profile.pk), action="company")


def test_a_lead_linked_in_the_crm_becomes_the_profiles_company(crm) -> None:
    profile = build_profile(verified=False, owner=build_user("gina"))
    drain()
    [ours] = objects("companies")
    reference = f"PRF-{profile.pk}"
    portal = crm.tenant_id
    # A salesperson had entered the business as a lead; our reference is unique in HubSpot,
    # so they take it off the company we made before putting it on their lead.
    lead = control(f"{portal}/objects/companies", {"properties": {"name": "Gina (lead)"}})
    refused = requests.post(
        f"{django_settings.CRM_SANDBOX_BASE_URL}/control/{portal}/objects/companies/{lead['id']}",
        json={"fintech_profile_ref": reference},
        headers={"Authorization": f"Bearer {django_settings.CRM_SANDBOX_CLIENT_SECRET}"},
        timeout=10,
    )
    assert refused.status_code == 409, refused.text
    control(f"{portal}/objects/companies/{ours.pk}", {"fintech_profile_ref": ""})
    control(f"{portal}/objects/companies/{lead['id']}", {"fintech_profile_ref": reference})
    rows = deliver_each()
    assert [r.status for r in rows] == [Status.PROCESSED] * 3, [r.error for r in rows]
    assert f"linked to company {lead['id']} (was {ours.pk})" in rows[-1].error
    job = company_job(profile)
    assert job.external_id == lead["id"]
    assert f"linked in HubSpot to company {lead['id']}" in job.note

    # The lead receives our properties; later lifecycle updates go to it, not to ours.
    drain()
    linked = CrmSandboxObject.objects.get(pk=int(lead["id"]))
    assert linked.properties["fintech_onboarding_stage"] == "signed_up"
    assert linked.properties["fintech_profile_ref"] == reference
    compliance_submit(actor=OPS, status=profile.compliance)
    drain()
    linked.refresh_from_db()
    assert linked.properties["fintech_onboarding_stage"] == "verification_submitted"
    ours.refresh_from_db()
    assert ours.properties["fintech_onboarding_stage"] == "signed_up"
    assert ours.properties["fintech_profile_ref"] == ""
    # A replayed company job keeps to the linked company: no third company.
    SyncJob.objects.filter(pk=job.pk).update(state=SyncJob.State.FAILED)
    services.job_retry(actor=OPS, job_id=job.pk, reason="test: replay")
    drain()
    assert company_job(profile).external_id == lead["id"]
    assert CrmSandboxObject.objects.filter(object_type="companies").count() == 2
    # Delivered again, the same link changes nothing.
    row = rows[-1]
    InboundWebhook.objects.filter(pk=row.pk).update(status=Status.RECEIVED)
    assert inbound_process(inbound_id=row.pk) == Status.PROCESSED
    assert company_job(profile).external_id == lead["id"]


def test_an_unknown_reference_on_a_crm_company_is_a_clear_failure(crm) -> None:
    profile = build_profile(verified=False, owner=build_user("hugo"))
    drain()
    lead = control(f"{crm.tenant_id}/objects/companies", {"properties": {"name": "Nobody Ltd"}})
    control(
        f"{crm.tenant_id}/objects/companies/{lead['id']}", {"fintech_profile_ref": "PRF-999999"}
    )
    created, changed = deliver_each()
    assert created.status == Status.PROCESSED
    assert changed.status == Status.FAILED
    assert f"HubSpot company {lead['id']}" in changed.error
    assert "'PRF-999999', which is no business profile of ours" in changed.error
    # Our profile's own company is untouched.
    assert company_job(profile).external_id != lead["id"]


def test_a_merged_contact_is_followed_and_never_made_twice(crm) -> None:
    user = build_user("ivan")
    user.first_name, user.last_name = "Ivan", "Petrov"
    user.save()
    profile = build_profile(verified=False, owner=user)
    drain()
    [ours] = objects("contacts")
    assert ours.properties["email"] == "ivan@example.com"
    job = SyncJob.objects.get(action="contact", object_id=f"{profile.pk}:{user.pk}")
    assert job.external_id == str(ours.pk)
    # Someone had entered Ivan by his personal address; the CRM user merges ours into it.
    other = control(
        f"{crm.tenant_id}/objects/contacts",
        {"properties": {"email": "ivan.p@example.org", "firstname": "Ivan"}},
    )
    control(
        f"{crm.tenant_id}/merge/contacts",
        {"primaryObjectId": other["id"], "objectIdToMerge": str(ours.pk)},
    )
    _created, merged = deliver_each()
    assert merged.status == Status.PROCESSED, merged.error
    assert f"now contact {other['id']} (was {ours.pk})" in merged.error
    job = SyncJob.objects.get(pk=job.pk)
    assert job.external_id == other["id"]
    assert f"merged into {other['id']}" in job.note
    # Our work email is now only among the survivor's additional emails (a search by email
    # finds nothing); a replayed contact job updates the survivor, makes no second contact.
    SyncJob.objects.filter(pk=job.pk).update(state=SyncJob.State.FAILED)
    services.job_retry(actor=OPS, job_id=job.pk, reason="test: replay")
    drain()
    [survivor] = objects("contacts")
    assert str(survivor.pk) == other["id"]
    assert (survivor.properties["firstname"], survivor.properties["lastname"]) == ("Ivan", "Petrov")
    # Without the webhook too: HubSpot answers the merged id with the survivor.
    SyncJob.objects.filter(pk=job.pk).update(state=SyncJob.State.FAILED, external_id=str(ours.pk))
    services.job_retry(actor=OPS, job_id=job.pk, reason="test: replay")
    drain()
    assert [str(o.pk) for o in objects("contacts")] == [other["id"]]
    assert SyncJob.objects.get(pk=job.pk).external_id == other["id"]
