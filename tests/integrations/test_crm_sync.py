"""The CRM end to end, with real pieces: our server (live_server: the API, /webhooks/hubspot/,
the KYC and payout simulators and the CRM sandbox under /sandbox/crm/), real Celery workers
(subprocesses) on a throwaway Redis, the OAuth dance over HTTP. A business signs up, the KYC
simulator verifies it, it sends transfers (one fails at the payout partner), it crosses the
high-value band; replays and SIGKILLed workers later (one killed while HubSpot's answer to
its company creation is in flight, one between jobs), the sandbox holds exactly one company
with the right stage, tags and notes; an owner change in the sandbox reaches our profile, and
a salesperson's lead company given our reference becomes the profile's company."""

from __future__ import annotations

import pytest
import redis

from fintech.compliance.models import ComplianceStatus
from fintech.compliance.services import compliance_submit
from fintech.customers.models import Profile
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_fund, transfer_submit
from integrations.connectors.crm.hubspot.handlers import HANDLERS
from integrations.models import CrmSandboxObject, CrmSandboxRequest, InboundWebhook
from integrations.relay import outbox_relay
from integrations.sync import demo as sync_demo
from integrations.sync import services
from integrations.sync.demo import connect_by_redirect
from integrations.sync.models import Connection, SyncJob
from integrations.tasks import scan_due
from tests.builders import build_profile, build_user
from tests.connectors.crm.conftest import OPS, control, point_at, sent_bodies
from tests.connectors.crm.scan import leaks
from tests.integrations.conftest import create_transfer, fund_wallet, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
State = SyncJob.State


def tick() -> None:
    outbox_relay()
    scan_due()


@pytest.fixture
def ours(live_server, settings, redis_server, monkeypatch) -> str:
    redis.Redis.from_url(redis_server.url).flushdb()
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    point_at(settings, live_server.url)
    return str(live_server.url)


def companies() -> list[CrmSandboxObject]:
    return list(CrmSandboxObject.objects.filter(object_type="companies", archived=False))


def sent(profile: Profile, amount: str, holder: str) -> Transfer:
    transfer = create_transfer(profile, amount=amount, holder_name=holder)
    transfer_fund(actor=OPS, transfer_id=transfer.pk)
    transfer_submit(actor=OPS, transfer_id=transfer.pk)
    return transfer


def settled(*transfers: Transfer) -> bool:
    states = set(
        Transfer.objects.filter(pk__in=[t.pk for t in transfers]).values_list("state", flat=True)
    )
    return states <= {"completed", "failed"}


def quiet() -> bool:
    return not SyncJob.objects.exclude(state__in=[State.SYNCED, State.SKIPPED]).exists()


def test_a_business_lifecycle_reaches_the_crm_and_its_account_manager_comes_back(
    ours, start_worker, settings
) -> None:
    settings.SYNC_JOB_LEASE_SECONDS = 8  # the scanner's republish window, as the workers'
    env = {
        "AUTHLIB_INSECURE_TRANSPORT": "1",
        "KYC_SANDBOX_CONSIDER_PERCENT": "0",
        "SYNC_JOB_LEASE_SECONDS": "8",
    }
    worker = start_worker(base_url=ours, **env)
    connection, url = services.connection_start(actor=OPS, provider="hubspot", profile_id=None)
    crm = connect_by_redirect(connection=connection, authorization_url=url)
    assert crm.status == Connection.Status.ACTIVE

    # HubSpot answers every call 3 s late, after making the change: the worker creates the
    # company and is SIGKILLed while it waits for the answer (its claim stays until the lease
    # lapses); another worker takes the job over and finds the company by our reference.
    control(crm.tenant_id, {"latency_ms": 3000})
    user = build_user("frank")
    user.first_name, user.last_name = "Frank", "Osei"
    user.save()
    profile = build_profile(verified=False, owner=user, legal_name="Osei Freight Ltd")
    wait_for(
        lambda: (
            companies() and SyncJob.objects.filter(action="company", state=State.IN_FLIGHT).exists()
        ),
        timeout=60,
        tick=tick,
    )
    worker.kill()
    control(crm.tenant_id, {"latency_ms": 0})
    worker = start_worker(base_url=ours, **env)
    wait_for(
        lambda: SyncJob.objects.filter(action="company", state=State.SYNCED).exists(),
        timeout=90,
        tick=tick,
    )
    [made] = companies()
    assert SyncJob.objects.get(action="company").external_id == str(made.pk)
    # One create (the killed worker's); its successor found that company and updated it.
    creates = CrmSandboxRequest.objects.filter(
        method="POST", path__endswith="/crm/v3/objects/companies"
    )
    assert creates.count() == 1
    assert CrmSandboxRequest.objects.filter(
        method="PATCH", path__endswith=f"/crm/v3/objects/companies/{made.pk}"
    ).exists()

    compliance_submit(actor=OPS, status=profile.compliance)
    wait_for(
        lambda: ComplianceStatus.objects.get(profile=profile).state == "verified",
        timeout=90,
        tick=tick,
    )
    wait_for(
        lambda: (
            quiet()
            and companies()
            and companies()[0].properties.get("fintech_onboarding_stage") == "verified"
        ),
        timeout=90,
        tick=tick,
    )

    # A machine dies between jobs; another worker carries on.
    worker.kill()
    start_worker(base_url=ours, **env)
    fund_wallet(profile, "GBP", 300_000_00)
    transfers = [
        sent(profile, "60000.00", "Lieferant GmbH"),
        sent(profile, "55000.00", "Lieferant GmbH"),
        sent(profile, "10.00", "Will fail GmbH"),
    ]
    wait_for(lambda: settled(*transfers), timeout=120, tick=tick)
    assert Transfer.objects.get(pk=transfers[2].pk).state == "failed"

    def lifecycle_done() -> bool:
        props = companies()[0].properties if companies() else {}
        return (
            quiet()
            and props.get("fintech_onboarding_stage") == "active"
            and props.get("fintech_high_value") == "true"
            and CrmSandboxObject.objects.filter(object_type="notes").count() == 2
        )

    wait_for(lifecycle_done, timeout=120, tick=tick)

    # Replays: every event's handlers again, every job retried; nothing doubles.
    sync_demo.events_replay(HANDLERS)
    for job in SyncJob.objects.filter(state=State.SYNCED):
        SyncJob.objects.filter(pk=job.pk).update(state=State.FAILED)
        services.job_retry(actor=OPS, job_id=job.pk, reason="test: replay")
    wait_for(quiet, timeout=120, tick=tick)

    [company] = companies()
    props = company.properties
    assert props["fintech_profile_ref"] == f"PRF-{profile.pk}"
    assert props["fintech_onboarding_stage"] == "active"
    assert props["fintech_kyc_status"] == "verified"
    assert (props["fintech_account_tier"], props["fintech_high_value"]) == ("scale", "true")
    assert props["fintech_volume_band_90d"] == "100k_1m"
    assert props["fintech_last_failed_reason"] == "invalid_account"
    notes = sorted(
        o.properties["hs_note_body"] for o in CrmSandboxObject.objects.filter(object_type="notes")
    )
    assert len(notes) == 2
    assert notes[0].startswith("Payment failed. Reason code: invalid_account.")
    assert notes[1].startswith("Verification completed.")
    assert CrmSandboxObject.objects.filter(object_type="contacts").count() == 1

    # Nothing that must not leave did.
    from integrations.connectors.crm.records import profile_record

    assert leaks(profile_record(profile_id=profile.pk), [b for _, b in sent_bodies()]) == []

    # An account manager assigned in the CRM reaches our profile (signed webhook, stored,
    # processed by the worker).
    owner = control(f"{crm.tenant_id}/owners", {"email": "kwame@example.com", "firstName": "Kwame"})
    control(f"{crm.tenant_id}/objects/companies/{company.pk}", {"hubspot_owner_id": owner["id"]})

    def processed() -> bool:
        # The delivery's row is marked after its handler's own commit: wait for both.
        rows = InboundWebhook.objects.filter(provider="hubspot")
        return rows.exists() and not rows.exclude(status=InboundWebhook.Status.PROCESSED).exists()

    wait_for(
        lambda: (
            Profile.objects.get(pk=profile.pk).account_manager_email == "kwame@example.com"
            and processed()
        ),
        timeout=60,
        tick=tick,
    )
    assert InboundWebhook.objects.filter(provider="hubspot").count() == 1

    # The lead-to-account link: a salesperson's lead company, given our reference (taken off
    # ours first: HubSpot keeps it unique), becomes the profile's company by signed webhook,
    # processed by the worker, and receives the profile's properties.
    portal = crm.tenant_id
    lead = control(f"{portal}/objects/companies", {"properties": {"name": "Osei Freight (lead)"}})
    control(f"{portal}/objects/companies/{company.pk}", {"fintech_profile_ref": ""})
    control(
        f"{portal}/objects/companies/{lead['id']}", {"fintech_profile_ref": f"PRF-{profile.pk}"}
    )

    def lead_linked() -> bool:
        props = CrmSandboxObject.objects.get(pk=int(lead["id"])).properties
        return processed() and quiet() and props.get("fintech_onboarding_stage") == "active"

    wait_for(lead_linked, timeout=90, tick=tick)
    assert SyncJob.objects.get(action="company").external_id == lead["id"]
    assert InboundWebhook.objects.filter(provider="hubspot").count() == 4
