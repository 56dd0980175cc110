"""The sync console: finance operates (connections, mapping, the failed-sync queue,
mismatches), engineering sees connections only; every action calls a service and is audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fintech.core.models import AuditEvent
from integrations.sync.models import Connection, SyncJob, SyncMismatch
from tests.integrations.conftest import create_transfer
from tests.sync.conftest import OPS, connect, job_through, reload, staff, state_of

pytestmark = pytest.mark.django_db

CONNECTIONS = "admin:integrations_accountingconnection_changelist"
JOBS = "admin:integrations_syncjob_changelist"
MISMATCHES = "admin:integrations_syncmismatch_changelist"


def connection_page(name: str, connection: Connection) -> str:
    return reverse(f"admin:integrations_accountingconnection_{name}", args=[connection.pk])


@pytest.fixture
def failed_job(alice_books, alice) -> SyncJob:
    transfer = create_transfer(alice)
    job = job_through(
        alice_books, object_type="transfer", object_id=transfer.reference, action="fail"
    )
    assert job.state == SyncJob.State.FAILED
    return job


@pytest.fixture
def mismatch(alice_books, failed_job) -> SyncMismatch:
    return SyncMismatch.objects.create(
        connection=alice_books,
        job=failed_job,
        kind=SyncMismatch.Kind.AMOUNT,
        object_type="transfer",
        object_id=failed_job.object_id,
        external_id="ext-1",
        detail="Xero says 99.00 GBP, we posted 100.00 GBP",
    )


# --- connections ----------------------------------------------------------------------------


def test_finance_sees_connections_with_backlog_and_never_the_tokens(
    fiona, alice_books, failed_job
) -> None:
    page = fiona.get(reverse(CONNECTIONS)).content.decode()
    assert "Alice Books" in page
    assert "0 / 0 / 0 / 1 / 0" in page  # pending / in flight / retry / failed / dead
    assert "at-secret-1" not in page
    assert "rt-secret-1" not in page
    detail = fiona.get(connection_page("change", alice_books)).content.decode()
    assert "valid, expires" in detail
    assert "at-secret-1" not in detail
    assert "rt-secret-1" not in detail
    assert "access_token" not in detail
    assert "refresh_token" not in detail


def test_engineering_sees_connections_but_no_jobs_mismatches_or_mapping(
    eddie, alice_books, failed_job, mismatch
) -> None:
    page = eddie.get(reverse(CONNECTIONS))
    assert page.status_code == 200
    assert "Alice Trading" not in page.content.decode()  # the customer's name is not his
    assert "Alice Books" not in page.content.decode()  # nor their organisation's
    assert "t-1" in page.content.decode()  # its id is enough to tell connections apart
    detail = eddie.get(connection_page("change", alice_books))
    assert detail.status_code == 200
    assert "Alice Books" not in detail.content.decode()
    assert eddie.get(reverse(JOBS)).status_code == 403
    assert eddie.get(reverse(MISMATCHES)).status_code == 403
    assert eddie.get(connection_page("mapping", alice_books)).status_code == 403
    assert eddie.post(connection_page("refresh", alice_books)).status_code == 403
    assert eddie.post(connection_page("reconnect", alice_books)).status_code == 403
    refused = eddie.post(connection_page("disconnect", alice_books), {"reason": "curious"})
    assert refused.status_code == 403
    alice_books.refresh_from_db()
    assert alice_books.status == Connection.Status.ACTIVE


def test_refresh_chart_of_accounts(fiona, alice_books) -> None:
    alice_books.accounts.all().delete()
    response = fiona.post(connection_page("refresh", alice_books), follow=True)
    assert "3 account(s) fetched" in response.content.decode()
    assert alice_books.accounts.count() == 3


def test_disconnect_asks_for_a_reason_and_is_audited(fiona, alice_books) -> None:
    form = fiona.get(connection_page("disconnect", alice_books))
    assert b"reason" in form.content
    fiona.post(connection_page("disconnect", alice_books), {"reason": "customer left"})
    alice_books.refresh_from_db()
    assert alice_books.status == Connection.Status.DISCONNECTED
    assert not alice_books.access_token
    event = AuditEvent.objects.get(action="connection.disconnect")
    assert (event.actor_label, event.reason) == ("user:fiona", "customer left")


def test_reconnect_sends_the_operator_to_the_provider(fiona, alice_books, fakebooks) -> None:
    response = fiona.post(connection_page("reconnect", alice_books))
    assert response.status_code == 302
    assert response["Location"].startswith(f"{fakebooks.base}/authorize?")
    assert "code_challenge=" in response["Location"]
    # The platform's own books start from the "Connect books" page.
    started = fiona.post(
        reverse("admin:integrations_accountingconnection_connect"), {"provider": "fakebooks"}
    )
    assert started["Location"].startswith(f"{fakebooks.base}/authorize?")
    assert Connection.objects.filter(owner=Connection.Owner.PLATFORM).count() == 1
    form = fiona.post(
        reverse("admin:integrations_accountingconnection_connect"),
        {"provider": "fakebooks", "profile_id": "999999"},
    )
    assert form.status_code == 200
    assert b"no profile 999999" in form.content


def test_choose_organisation_when_the_grant_reaches_several(fiona, fakebooks, alice) -> None:
    from integrations.sync.adapters import Tenant

    fakebooks.tenant_list = [Tenant("t-1", "Alice Books"), Tenant("t-2", "Alice Holdings")]
    connection = connect(alice)
    assert connection.status == Connection.Status.SELECT_TENANT
    links = fiona.get(reverse(CONNECTIONS)).content.decode()
    assert "choose organisation" in links
    assert b"Alice Holdings" in fiona.get(connection_page("tenant", connection)).content
    fiona.post(connection_page("tenant", connection), {"tenant_id": "t-2"})
    connection.refresh_from_db()
    assert (connection.status, connection.tenant_name) == ("active", "Alice Holdings")
    assert AuditEvent.objects.filter(action="connection.tenant_chosen").exists()


# --- account mapping ----------------------------------------------------------------------


def test_mapping_shows_problems_until_complete(fiona, fakebooks, alice) -> None:
    connection = connect(alice)
    url = connection_page("mapping", connection)
    page = fiona.get(url).content.decode()
    assert 'id="mapping-problems"' in page
    assert "fee_revenue is not mapped" in page
    assert "200 — Sales — REVENUE — ACTIVE" in page
    assert "Our fees charged on transfers" in page
    # An archived account is named as the problem it is.
    fiona.post(url, {"fee_revenue": "260", "client_money": "090", "fx_gain": ""})
    assert "fee_revenue: account 260 is archived" in fiona.get(url).content.decode()
    fiona.post(url, {"fee_revenue": "200", "client_money": "090", "fx_gain": ""})
    page = fiona.get(url).content.decode()
    assert 'id="mapping-problems"' not in page
    assert 'id="mapping-complete"' in page
    assert AuditEvent.objects.filter(action="account_mapping.set").count() == 3


# --- the failed-sync queue ---------------------------------------------------------------


def test_the_queue_and_its_filters_load(fiona, failed_job, alice_books) -> None:
    for query in (
        "",
        "?queue=failed",
        "?stuck=yes",
        "?age=waiting_1h",
        "?age=24h",
        f"?connection__id__exact={alice_books.pk}",
        "?last_error_class=PermanentError",
        "?action=fail",
        "?object_type=transfer",
        "?state__exact=failed",
    ):
        assert fiona.get(reverse(JOBS) + query).status_code == 200, query
    page = fiona.get(reverse(JOBS)).content.decode()
    assert f"/admin/transfers/transfer/?reference={failed_job.object_id}" in page
    assert "ValidationException: the contact has no name" in page


def test_the_queue_is_one_page_of_queries_whatever_its_length(
    fiona, alice_books, bob, django_assert_max_num_queries
) -> None:
    # Three connections (alice's, bob's, the platform's), each with failed jobs.
    for connection in (alice_books, connect(bob), connect(None)):
        for n in range(6):
            job_through(connection, object_type="transfer", object_id=f"TR{n:04d}", action="fail")
        SyncMismatch.objects.create(
            connection=connection, kind=SyncMismatch.Kind.MISSING, detail="not there"
        )
    with django_assert_max_num_queries(20):
        assert fiona.get(reverse(JOBS)).status_code == 200
    with django_assert_max_num_queries(20):
        assert fiona.get(reverse(CONNECTIONS)).status_code == 200
    with django_assert_max_num_queries(20):
        assert fiona.get(reverse(MISMATCHES)).status_code == 200


def test_retry_asks_for_a_reason_then_queues_the_job(fiona, failed_job) -> None:
    form = {"action": "retry", "_selected_action": [failed_job.pk]}
    page = fiona.post(reverse(JOBS), form)
    assert page.status_code == 200
    assert b"Reason" in page.content
    fiona.post(reverse(JOBS), {**form, "confirm": "yes", "reason": "contact fixed in Xero"})
    failed_job = reload(failed_job)
    assert (failed_job.state, failed_job.attempts) == ("pending", 0)
    event = AuditEvent.objects.get(action="sync_job.retry")
    assert (event.actor_label, event.reason) == ("user:fiona", "contact fixed in Xero")


def test_skip_needs_a_note(fiona, failed_job) -> None:
    form = {"action": "skip", "_selected_action": [failed_job.pk], "confirm": "yes"}
    fiona.post(reverse(JOBS), {**form, "reason": ""})
    failed_job = reload(failed_job)
    assert failed_job.state == "failed"
    fiona.post(reverse(JOBS), {**form, "reason": "booked by hand"})
    failed_job = reload(failed_job)
    assert (failed_job.state, failed_job.note) == ("skipped", "booked by hand")
    assert AuditEvent.objects.filter(action="sync_job.skip").exists()


def test_a_refused_action_is_reported_and_changes_nothing(fiona, alice_books) -> None:
    synced = job_through(alice_books, object_type="transfer", object_id="TR-OK", action="invoice")
    assert synced.state == "synced"
    response = fiona.post(
        reverse(JOBS),
        {"action": "retry", "_selected_action": [synced.pk], "confirm": "yes", "reason": "x"},
        follow=True,
    )
    assert "a synced job cannot be retried" in response.content.decode()


def test_retry_all_matching_the_current_filter(fiona, alice_books) -> None:
    failed = [
        job_through(alice_books, object_type="transfer", object_id=f"TR-F{n}", action="fail")
        for n in range(3)
    ]
    retrying = job_through(alice_books, object_type="transfer", object_id="TR-R", action="flaky")
    assert retrying.state == "retry_scheduled"
    url = reverse("admin:integrations_syncjob_retry_matching") + "?action=fail"
    page = fiona.get(url).content.decode()
    assert "3 job(s) matching the current filter" in page
    response = fiona.post(url, {"reason": "Xero outage over"})
    assert response.status_code == 302
    assert response["Location"].endswith("?action=fail")
    assert {j.state for j in SyncJob.objects.filter(pk__in=[j.pk for j in failed])} == {"pending"}
    retrying = reload(retrying)
    assert retrying.state == "retry_scheduled"  # not matching the filter: untouched
    assert AuditEvent.objects.filter(action="sync_job.retry").count() == 3


def test_the_sync_status_of_an_object(fiona, failed_job, alice_books) -> None:
    job_through(
        alice_books, object_type="transfer", object_id=failed_job.object_id, action="payment"
    )
    url = reverse("admin:integrations_syncjob_object_status")
    page = fiona.get(url, {"object_type": "transfer", "object_id": failed_job.object_id})
    text = page.content.decode()
    assert f"ext-{failed_job.object_id}" in text  # the payment's external id
    assert "ValidationException" in text  # the failed one's error
    assert text.count("/admin/integrations/syncjob/") >= 2


# --- mismatches ---------------------------------------------------------------------------


def test_resolve_a_mismatch_with_a_note(fiona, mismatch) -> None:
    assert b"99.00" in fiona.get(reverse(MISMATCHES) + "?status__exact=open").content
    form = {"action": "resolve", "_selected_action": [mismatch.pk], "confirm": "yes"}
    fiona.post(reverse(MISMATCHES), {**form, "reason": "credit note 7 posted in Xero"})
    mismatch.refresh_from_db()
    assert mismatch.status == "resolved"
    assert mismatch.resolved_by == "user:fiona"
    assert mismatch.resolution_note == "credit note 7 posted in Xero"
    assert AuditEvent.objects.filter(action="sync_mismatch.resolve").exists()
    again = fiona.post(reverse(MISMATCHES), {**form, "reason": "twice"}, follow=True)
    assert "already resolved" in again.content.decode()
    assert fiona.get(reverse(MISMATCHES) + "?status__exact=resolved").status_code == 200


def test_the_oauth_state_of_the_admin_reconnect_is_single_use(fiona, alice_books) -> None:
    response = fiona.post(connection_page("reconnect", alice_books))
    state = state_of(response["Location"])
    done = fiona.get("/integrations/oauth/callback/", {"state": state, "code": "good"})
    assert done.status_code == 302  # back to the console
    assert done["Location"] == reverse(CONNECTIONS)
    again = fiona.get("/integrations/oauth/callback/", {"state": state, "code": "good"})
    assert again.status_code == 400
    assert OPS.label  # the fixtures' actor is distinct from fiona's


def test_roles_finance_operates_engineering_sees_connections_only() -> None:
    from tests.core.test_staff_groups import perms

    finance, engineering = perms("finance"), perms("engineering")
    for permission in (
        "integrations.change_syncjob",
        "integrations.change_syncmismatch",
        "integrations.change_accountmapping",
        "integrations.change_accountingconnection",
    ):
        assert permission in finance, permission
        assert permission not in engineering, permission
    assert "integrations.view_accountingconnection" in engineering
    assert not {
        p for p in engineering if p.endswith(("_syncjob", "_syncmismatch", "_accountmapping"))
    }
    assert "integrations.view_webhookdelivery" in engineering  # the rest of integrations stays


def test_the_connection_page_has_the_operators_buttons(fiona, alice_books) -> None:
    page = fiona.get(connection_page("change", alice_books)).content.decode()
    for text in ("Account mapping", "Disconnect…", "Reconnect", "Refresh chart of accounts"):
        assert text in page, text
    assert "Connect books…" in fiona.get(reverse(CONNECTIONS)).content.decode()
    fiona.force_login(staff("erin", "engineering"))
    page = fiona.get(connection_page("change", alice_books)).content.decode()
    for text in ("Account mapping", "Disconnect…", "Reconnect", "Refresh chart of accounts"):
        assert text not in page, text


def test_the_object_link_opens_the_transfer(fiona, failed_job, client, ops) -> None:
    client.force_login(ops)
    page = client.get(f"/admin/transfers/transfer/?reference={failed_job.object_id}")
    assert page.status_code == 200
    assert failed_job.object_id in page.content.decode()


def test_a_transfer_page_links_to_its_sync_status(fiona, failed_job, alice) -> None:
    transfer = create_transfer(alice)
    page = fiona.get(reverse("admin:transfers_transfer_change", args=[transfer.pk]))
    status = reverse("admin:integrations_syncjob_object_status")
    assert f"{status}?object_type=transfer&amp;object_id={transfer.reference}" in page.text
    assert (
        fiona.get(f"{status}?object_type=transfer&object_id={transfer.reference}").status_code
        == 200
    )


def test_the_mapping_screen_sets_mode_tax_and_tracking(fiona, fakebooks, alice) -> None:
    connection = connect(alice)
    url = connection_page("mapping", connection)
    roles = {"fee_revenue": "200", "client_money": "090", "fx_gain": ""}
    fiona.post(url, {**roles, "setting_tax": "NONE!", "setting_tracking": "Region=Europe"})
    assert Connection.objects.get(pk=connection.pk).tax_type == ""  # refused, reason shown
    fiona.post(
        url,
        {
            **roles,
            "setting_mode": "daily_journal",
            "setting_tax": "EXEMPTOUTPUT",
            "setting_tracking": "Region=Europe; Desk=FX",
        },
    )
    connection = Connection.objects.get(pk=connection.pk)
    assert connection.mode == "daily_journal"
    assert connection.tax_type == "EXEMPTOUTPUT"
    assert connection.tracking == [
        {"name": "Region", "option": "Europe"},
        {"name": "Desk", "option": "FX"},
    ]
    assert AuditEvent.objects.filter(action="connection.settings").count() == 1


def test_a_daily_journal_drills_down_to_its_ledger_entries(fiona, alice) -> None:
    from integrations.sync.admin import object_admin_url

    url = object_admin_url("journal_day", "2026-11-30:GBP")
    assert url is not None
    assert "effective_at__year=2026" in url
    assert "effective_at__month=11" in url
    assert "effective_at__day=30" in url
    assert fiona.get(url).status_code == 200
    funding = object_admin_url("funding", "7")
    assert funding is not None
    assert funding.endswith("/ledger/journalentry/7/change/")
