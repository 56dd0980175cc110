"""The HubSpot connector against the CRM sandbox over HTTP: connecting (OAuth, private app
token, properties made or refused), a business's lifecycle to exactly one company with its
contact and notes (replays and re-runs add nothing), every body checked with HubSpot's models
and scanned for what must never leave, rate limits, a company deleted in the CRM."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from fintech.compliance.services import compliance_submit, compliance_verify
from fintech.customers.models import Profile
from fintech.transfers.services import (
    transfer_complete,
    transfer_fail,
    transfer_fund,
    transfer_submit,
)
from integrations.connectors.crm.hubspot import services as hubspot_services
from integrations.connectors.crm.hubspot.handlers import HANDLERS
from integrations.connectors.crm.records import profile_record
from integrations.errors import PermanentError
from integrations.models import CrmSandboxRequest
from integrations.sync import demo as sync_demo
from integrations.sync.adapters import JobContext, adapter_for
from integrations.sync.models import Connection, SyncJob
from tests.builders import build_profile, build_user
from tests.connectors.crm.conftest import OPS, State, control, drain, objects, sent_bodies
from tests.connectors.crm.scan import leaks
from tests.integrations.conftest import create_transfer, fund_wallet

pytestmark = pytest.mark.django_db(transaction=True)


def carol() -> User:
    user = build_user("carol")
    user.first_name, user.last_name = "Carol", "Smith"
    user.save()
    return user


def send(profile: Profile, amount: str, *, fail: str = "") -> str:
    transfer = create_transfer(profile, amount=amount, holder_name="Lieferant Schmidt GmbH")
    transfer_fund(actor=OPS, transfer_id=transfer.pk)
    transfer_submit(actor=OPS, transfer_id=transfer.pk)
    if fail:
        transfer_fail(actor=OPS, transfer_id=transfer.pk, reason=fail)
    else:
        transfer_complete(actor=OPS, transfer_id=transfer.pk, reason="paid out")
    return transfer.reference


def company_props() -> dict[str, str]:
    [company] = objects("companies")
    return company.properties


def test_a_lifecycle_reaches_exactly_one_company(crm) -> None:
    profile = build_profile(verified=False, owner=carol(), legal_name="Carol Trading Ltd")
    drain()
    props = company_props()
    assert props["name"] == "Carol Trading Ltd"
    assert props["fintech_profile_ref"] == f"PRF-{profile.pk}"
    assert props["fintech_onboarding_stage"] == "signed_up"
    assert props["fintech_kyc_status"] == "not_started"
    [contact] = objects("contacts")
    assert contact.properties == {
        "email": "carol@example.com",
        "firstname": "Carol",
        "lastname": "Smith",
    }
    [company] = objects("companies")
    assert contact.associations[0]["toId"] == str(company.pk)

    compliance_submit(actor=OPS, status=profile.compliance)
    drain()
    assert company_props()["fintech_onboarding_stage"] == "verification_submitted"
    compliance_verify(actor=OPS, status=profile.compliance, reason="documents checked")
    drain()
    assert (company_props()["fintech_onboarding_stage"], company_props()["fintech_kyc_status"]) == (
        "verified",
        "verified",
    )

    fund_wallet(profile, "GBP", 200_000_00)
    send(profile, "60000.00")
    send(profile, "55000.00")
    failed = send(profile, "10.00", fail="payout partner: invalid_account: Schmidt's IBAN closed")
    drain()
    props = company_props()
    assert props["fintech_onboarding_stage"] == "active"
    assert props["fintech_volume_band_90d"] == "100k_1m"
    assert (props["fintech_account_tier"], props["fintech_high_value"]) == ("scale", "true")
    assert props["fintech_last_failed_reason"] == "invalid_account"
    assert props["fintech_activity_count"] == "2"
    assert props["fintech_currencies"] == "EUR;GBP"
    notes = sorted(n.properties["hs_note_body"] for n in objects("notes"))
    assert len(notes) == 2
    assert notes[0].startswith("Payment failed. Reason code: invalid_account.")
    assert failed in notes[0]
    assert notes[1].startswith("Verification completed.")
    assert all(n.associations[0]["toId"] == str(company.pk) for n in objects("notes"))
    assert not SyncJob.objects.exclude(state=State.SYNCED).exists()

    # Replayed events add no job; every job run again (a worker killed after HubSpot
    # answered) finds what it made: still one company, one contact, two notes.
    jobs = SyncJob.objects.count()
    assert sync_demo.events_replay(HANDLERS) > 0
    assert SyncJob.objects.count() == jobs
    adapter = adapter_for("hubspot")
    for job in SyncJob.objects.select_related("connection", "depends_on"):
        prerequisite = job.depends_on.external_id if job.depends_on else ""
        again = adapter.perform(
            JobContext(connection=job.connection, job=job, prerequisite_external_id=prerequisite)
        )
        assert getattr(again, "external_id", job.external_id) == job.external_id
    assert (len(objects("companies")), len(objects("contacts")), len(objects("notes"))) == (1, 1, 2)

    # Every body the CRM received: valid for HubSpot's models, nothing sensitive in it.
    bodies = [body for _, body in sent_bodies()]
    record = profile_record(profile_id=profile.pk)
    assert record.transfers
    assert record.transfers[0].beneficiary_details
    assert leaks(record, bodies) == []
    assert "Schmidt" not in str(bodies)


def test_personal_profiles_stay_out_of_the_crm(crm) -> None:
    build_profile(kind=Profile.Kind.PERSONAL, verified=True, owner=carol())
    drain()
    assert objects("companies") == []
    assert not SyncJob.objects.exists()


def test_a_private_app_token_connects_and_makes_the_properties(ours) -> None:
    portal = control("portals", {"name": "Private app portal"})
    connection = hubspot_services.connection_private_app(
        actor=OPS, token=portal["private_app_token"]
    )
    assert connection.status == Connection.Status.ACTIVE
    assert connection.tenant_id == str(portal["portal_id"])
    assert connection.refresh_token in ("", None)
    made = control(str(portal["portal_id"]), method="GET")["properties"]["companies"]
    assert "fintech_onboarding_stage" in made
    assert "fintech_profile_ref" in made
    # Encrypted at rest: the column does not hold the token.
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token FROM integrations_connection WHERE id = %s", [connection.pk]
        )
        assert portal["private_app_token"] not in str(cursor.fetchone()[0])


def test_a_crm_refusing_our_properties_is_a_clear_error(ours) -> None:
    portal = control("portals", {"name": "Locked portal"})
    control(str(portal["portal_id"]), {"refuse_properties": True})
    with pytest.raises(PermanentError, match=r"refused to create property companies\.fintech_"):
        hubspot_services.connection_private_app(actor=OPS, token=portal["private_app_token"])
    connection = Connection.objects.get(provider="hubspot")
    assert connection.status == Connection.Status.RECONNECT_REQUIRED
    assert "hasn't been granted all required scopes" in connection.status_reason


def test_a_bad_private_app_token_is_refused(ours) -> None:
    with pytest.raises(Exception, match="private app token was refused"):
        hubspot_services.connection_private_app(actor=OPS, token="pat-not-real")


def test_throttling_waits_without_spending_an_attempt(crm) -> None:
    control(crm.tenant_id, {"fault_status": 429, "fault_remaining": 1})
    build_profile(verified=False, owner=carol())
    drain(rounds=1)
    job = SyncJob.objects.get(action="company")
    assert (job.state, job.attempts) == (State.PENDING, 0)
    assert "429" in job.last_error
    crm.refresh_from_db()
    assert crm.blocked_until is not None
    # The block ends: the job goes through.
    Connection.objects.filter(pk=crm.pk).update(blocked_until=None)
    SyncJob.objects.update(next_attempt_at=crm.created_at)
    drain()
    assert len(objects("companies")) == 1


def test_a_company_deleted_in_the_crm_is_a_clear_error_on_the_job(crm) -> None:
    profile = build_profile(verified=False, owner=carol())
    drain()
    [company] = objects("companies")
    control(f"{crm.tenant_id}/objects/companies/{company.pk}", method="DELETE")
    compliance_submit(actor=OPS, status=profile.compliance)
    drain()
    [failed] = SyncJob.objects.filter(state=State.FAILED)
    assert failed.action.startswith("update:")
    assert f"company {company.pk} (PRF-{profile.pk}) was deleted in HubSpot" in failed.last_error
    profile.refresh_from_db()
    assert profile.compliance.state == "pending"  # the profile itself is unaffected


def test_requests_are_logged_for_the_scan(crm) -> None:
    assert CrmSandboxRequest.objects.filter(path__contains="/properties/companies").exists()


def test_our_budget_per_10_seconds_holds_calls_back(crm) -> None:
    # HubSpot counts per 10 seconds (SYNC_PROVIDER_LIMITS): one call left in this window.
    Connection.objects.filter(pk=crm.pk).update(calls_per_minute=1, minute_calls=0)
    build_profile(verified=False, owner=carol())
    drain(rounds=1)
    job = SyncJob.objects.get(action="company")
    assert (job.state, job.attempts) == (State.PENDING, 0)
    assert "per-10-second call limit" in job.last_error
    assert objects("companies") == []


def test_make_run_connects_the_crm_sandbox_and_replays_the_past(ours, settings) -> None:
    from integrations.connectors.crm.hubspot import demo
    from tests.connectors.crm.conftest import dispatch

    settings.HUBSPOT_SANDBOX_AUTOCONNECT = True
    build_profile(verified=True, owner=carol(), legal_name="Before Ltd")
    dispatch()  # before any CRM: no job
    assert not SyncJob.objects.exists()
    assert demo.sandbox_autoconnect() == 1
    assert demo.sandbox_autoconnect() == 0  # once
    connection = Connection.objects.get(provider="hubspot")
    assert (
        control(connection.tenant_id, method="GET")["owners"][0]["email"] == "am.demo@example.com"
    )
    drain()
    assert company_props()["fintech_onboarding_stage"] == "verified"


def test_a_property_value_the_crm_refuses_is_a_clear_error_on_the_job(crm, settings) -> None:
    # Tiers renamed here after the properties were made there: HubSpot refuses the new one.
    settings.CRM_TIERS = ("bronze", "silver", "gold", "platinum")
    profile = build_profile(verified=False, owner=carol())
    drain()
    job = SyncJob.objects.get(action="company")
    assert job.state == State.FAILED
    assert job.last_error_class == "PermanentError"
    assert "bronze was not one of the allowed options" in job.last_error
    assert objects("companies") == []
    profile.refresh_from_db()  # the profile itself is unaffected
    assert profile.legal_name
