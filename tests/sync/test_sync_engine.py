"""The sync engine against real PostgreSQL: jobs once per (connection, object, action), run at
most once at a time, outcomes as transitions, call budgets and concurrency per connection."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection as db
from django.utils import timezone

from fintech.core.services import Actor
from integrations.errors import PermanentError, RateLimited, TransientError
from integrations.sync import adapters, limits, services
from integrations.sync.adapters import Skipped, Synced
from integrations.sync.models import AccountMapping, SyncJob
from tests.sync.fake import FakeAdapter, mapped_connection

OPS = Actor.system("test-sync")
State = SyncJob.State


@pytest.fixture
def fake():
    adapter = FakeAdapter()
    adapters.register_adapter(adapter)
    yield adapter
    adapters._adapters.pop(adapter.provider, None)


def _job(connection, object_id="T1", action="fee_invoice", **kwargs):
    job, _ = services.job_ensure(
        connection=connection, object_type="transfer", object_id=object_id, action=action, **kwargs
    )
    return job


@pytest.mark.django_db
def test_a_replayed_event_finds_the_same_job(fake) -> None:
    connection = mapped_connection(fake)
    first, created = services.job_ensure(
        connection=connection, object_type="transfer", object_id="T1", action="fee_invoice"
    )
    again, created_again = services.job_ensure(
        connection=connection, object_type="transfer", object_id="T1", action="fee_invoice"
    )
    assert created
    assert not created_again
    assert first.pk == again.pk
    assert SyncJob.objects.count() == 1


@pytest.mark.django_db
def test_a_job_syncs_and_keeps_the_external_reference(fake) -> None:
    fake.action = lambda c: Synced(
        external_id="INV-9", external_version="v1", summary={"total": "1.50"}
    )
    connection = mapped_connection(fake)
    job = _job(connection)
    assert services.job_run(job_id=job.pk) == State.SYNCED
    job = SyncJob.objects.get(pk=job.pk)
    assert (job.state, job.external_id, job.external_version, job.attempts) == (
        State.SYNCED, "INV-9", "v1", 1,
    )  # fmt: skip
    assert job.external_summary == {"total": "1.50"}
    connection.refresh_from_db()
    assert connection.last_success_at is not None
    # Done is done: running it again does nothing.
    assert services.job_run(job_id=job.pk) == "skipped"
    assert fake.calls == [job.pk]


@pytest.mark.django_db
def test_a_refusal_goes_to_the_failed_queue_with_the_message(fake) -> None:
    def refuse(context):
        raise PermanentError("xero: HTTP 400: Account code '999' is not a valid code")

    fake.action = refuse
    job = _job(mapped_connection(fake))
    assert services.job_run(job_id=job.pk) == State.FAILED
    job = SyncJob.objects.get(pk=job.pk)
    assert job.last_error_class == "PermanentError"
    assert "Account code '999'" in job.last_error


@pytest.mark.django_db
def test_transient_errors_back_off_then_the_job_is_dead(fake, settings) -> None:
    settings.SYNC_MAX_ATTEMPTS = 3

    def flaky(context):
        raise TransientError("xero: HTTP 503")

    fake.action = flaky
    job = _job(mapped_connection(fake))
    outcomes = []
    for _ in range(3):
        before = timezone.now()
        outcomes.append(services.job_run(job_id=job.pk))
        job = SyncJob.objects.get(pk=job.pk)
        if job.state == State.RETRY_SCHEDULED:
            assert job.next_attempt_at > before  # backoff: not due again at once
            assert services.job_run(job_id=job.pk) == "skipped"  # not due yet
            SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    assert outcomes == [State.RETRY_SCHEDULED, State.RETRY_SCHEDULED, State.DEAD]
    assert job.last_error == "xero: HTTP 503"


@pytest.mark.django_db
def test_a_rate_limit_waits_without_spending_an_attempt(fake) -> None:
    def limited(context):
        raise RateLimited("xero: 429 (minute limit)", retry_after_seconds=30)

    fake.action = limited
    job = _job(mapped_connection(fake))
    assert services.job_run(job_id=job.pk) == "waiting"
    job = SyncJob.objects.get(pk=job.pk)
    assert job.state == State.PENDING
    assert job.attempts == 0
    assert job.next_attempt_at > timezone.now() + timedelta(seconds=25)


@pytest.mark.django_db
def test_an_incomplete_mapping_refuses_to_run_with_a_clear_error(fake) -> None:
    connection = mapped_connection(fake)
    AccountMapping.objects.filter(connection=connection, role="fee_revenue").update(
        account_code="299"
    )
    AccountMapping.objects.filter(connection=connection, role="client_money").delete()
    job = _job(connection)
    assert services.job_run(job_id=job.pk) == State.FAILED
    job = SyncJob.objects.get(pk=job.pk)
    assert "fee_revenue: account 299 is archived" in job.last_error
    assert "client_money is not mapped" in job.last_error
    assert fake.calls == []


@pytest.mark.django_db
def test_a_mapping_to_a_missing_or_wrong_type_account_is_named(fake) -> None:
    connection = mapped_connection(fake)
    AccountMapping.objects.filter(connection=connection, role="client_money").update(
        account_code="200"
    )
    AccountMapping.objects.filter(connection=connection, role="fee_revenue").update(
        account_code="777"
    )
    problems = services.mapping_problems(connection=connection)
    assert "fee_revenue: account 777 does not exist in fakebooks" in problems
    assert "client_money: account 200 is of type REVENUE, expected BANK" in problems
    with pytest.raises(PermanentError, match="is not one of"):
        services.mapping_set(actor=OPS, connection_id=connection.pk, role="nope", account_code="1")


@pytest.mark.django_db
def test_a_dependent_job_waits_for_its_prerequisite(fake) -> None:
    seen = []

    def record(context):
        seen.append(context.prerequisite_external_id)
        return Synced(external_id=f"X-{context.job.action}")

    fake.action = record
    connection = mapped_connection(fake)
    invoice = _job(connection, action="fee_invoice")
    payment = _job(connection, action="fee_payment", depends_on=invoice)
    assert services.job_run(job_id=payment.pk) == "skipped"  # its invoice is not synced
    assert services.job_run(job_id=invoice.pk) == State.SYNCED
    assert services.job_run(job_id=payment.pk) == State.SYNCED
    assert seen == ["", "X-fee_invoice"]


@pytest.mark.django_db
def test_operators_retry_and_skip_with_an_audit_trail(fake) -> None:
    from fintech.core.models import AuditEvent

    def refuse(context):
        raise PermanentError("bad")

    fake.action = refuse
    connection = mapped_connection(fake)
    job = _job(connection)
    services.job_run(job_id=job.pk)
    fake.action = lambda c: Skipped("nothing to post")
    services.job_retry(actor=OPS, job_id=job.pk, reason="account fixed")
    job = SyncJob.objects.get(pk=job.pk)
    assert job.state == State.PENDING
    assert job.attempts == 0
    assert services.job_run(job_id=job.pk) == State.SKIPPED
    other = _job(connection, object_id="T2")
    with pytest.raises(PermanentError, match="say why"):
        services.job_skip(actor=OPS, job_id=other.pk, note=" ")
    services.job_skip(actor=OPS, job_id=other.pk, note="posted by hand in Xero")
    other = SyncJob.objects.get(pk=other.pk)
    assert other.state == State.SKIPPED
    assert other.note == "posted by hand in Xero"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"sync_job.retry", "sync_job.skip"} <= actions


@pytest.mark.django_db(transaction=True)
def test_two_workers_given_one_job_run_it_once(fake) -> None:
    started = threading.Barrier(8)
    release = threading.Event()

    def slow(context):
        release.wait(5)
        return Synced(external_id="ONE")

    fake.action = slow
    job = _job(mapped_connection(fake))
    results: list[str] = []

    def worker() -> None:
        started.wait()
        try:
            results.append(services.job_run(job_id=job.pk))
        finally:
            db.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["skipped"] * 7 + [State.SYNCED]
    assert fake.calls == [job.pk]


@pytest.mark.django_db(transaction=True)
def test_no_more_jobs_in_flight_than_the_provider_allows(fake) -> None:
    connection = mapped_connection(fake, max_concurrent=2)
    jobs = [_job(connection, object_id=f"T{i}") for i in range(6)]
    inside = threading.Semaphore(0)
    release = threading.Event()
    peak = {"now": 0, "max": 0}
    lock = threading.Lock()

    def slow(context):
        with lock:
            peak["now"] += 1
            peak["max"] = max(peak["max"], peak["now"])
        inside.release()
        release.wait(5)
        with lock:
            peak["now"] -= 1
        return Synced(external_id=f"X{context.job.pk}")

    fake.action = slow
    results: list[str] = []

    def worker(job_id: int) -> None:
        try:
            results.append(services.job_run(job_id=job_id))
        finally:
            db.close()

    threads = [threading.Thread(target=worker, args=(j.pk,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads[:]:
        t.join(0.5)
    release.set()
    for t in threads:
        t.join(30)
    assert peak["max"] <= 2
    assert results.count(State.SYNCED) >= 2
    # The ones turned away are due again shortly, no attempt spent.
    waiting = SyncJob.objects.filter(state=State.PENDING)
    assert all(j.attempts == 0 for j in waiting)


@pytest.mark.django_db(transaction=True)
def test_the_call_budget_holds_under_concurrency(fake) -> None:
    connection = mapped_connection(fake, calls_per_minute=25)
    taken: list[bool] = []
    waits: list[float] = []
    lock = threading.Lock()
    gate = threading.Barrier(10)

    def caller() -> None:
        gate.wait()
        try:
            for _ in range(5):
                try:
                    limits.call_take(connection_id=connection.pk)
                    ok = True
                except RateLimited as exc:
                    waits.append(exc.retry_after_seconds)
                    ok = False
                with lock:
                    taken.append(ok)
        finally:
            db.close()

    threads = [threading.Thread(target=caller) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert taken.count(True) == 25
    assert taken.count(False) == 25
    assert all(0 < w <= 61 for w in waits)  # told to wait for the next minute, not longer


@pytest.mark.django_db
def test_a_429_blocks_the_connection_until_retry_after(fake) -> None:
    connection = mapped_connection(fake)
    limits.connection_block(connection_id=connection.pk, seconds=20)
    with pytest.raises(RateLimited, match="429") as caught:
        limits.call_take(connection_id=connection.pk)
    assert 15 < caught.value.retry_after_seconds <= 21
    job = _job(connection)
    assert job.pk not in services.jobs_due()  # the scanner leaves a blocked queue alone


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_taken_over_after_its_lease(fake) -> None:
    job = _job(mapped_connection(fake))
    # A worker claimed it a lease ago and died: in flight, its lease lapsed.
    long_ago = timezone.now() - timedelta(seconds=services.lease_seconds() + 1)
    SyncJob.objects.filter(pk=job.pk).update(
        state=State.IN_FLIGHT,
        locked_until=timezone.now() - timedelta(seconds=1),
        enqueued_at=long_ago,
        attempts=1,
    )
    assert job.pk in services.jobs_due()
    assert services.job_run(job_id=job.pk) == State.SYNCED
    assert SyncJob.objects.get(pk=job.pk).attempts == 2


@pytest.mark.django_db
def test_a_blocked_connection_makes_its_jobs_due_when_the_block_ends(fake) -> None:
    connection = mapped_connection(fake)
    job = _job(connection)
    limits.connection_block(connection_id=connection.pk, seconds=30)
    due = SyncJob.objects.get(pk=job.pk).next_attempt_at
    assert due > timezone.now() + timedelta(seconds=25)  # the scanner publishes it then


@pytest.mark.django_db
def test_a_new_connection_to_the_same_organisation_takes_over_unfinished_jobs(fake) -> None:
    old = mapped_connection(fake)
    synced = _job(old, object_id="T1")
    waiting = _job(old, object_id="T2")
    SyncJob.objects.filter(pk=synced.pk).update(state=State.SYNCED, external_id="INV-1")
    services.connection_disconnect(actor=OPS, connection_id=old.pk, reason="test: disconnect")
    new = mapped_connection(fake)  # connected again, to the same organisation
    services._queue_wake(new)
    assert SyncJob.objects.get(pk=waiting.pk).connection_id == new.pk
    assert SyncJob.objects.get(pk=synced.pk).connection_id == old.pk  # history stays
    assert services.job_run(job_id=waiting.pk) == State.SYNCED
