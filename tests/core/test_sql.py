"""fintech.core.sql: the hot path's statements behave as the ORM's would."""

from __future__ import annotations

import contextlib

import pghistory
import psycopg
import pytest
from django.apps import apps
from django.db import (
    DatabaseError,
    IntegrityError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import Application

from fintech.api.models import IdempotencyRecord
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.core.services import Actor
from fintech.core.sql import (
    Part,
    _history_tracked,
    fetch_instances,
    fetch_one,
    insert,
    insert_and_commit,
    insert_unless_conflict,
    inserts_deferred,
    select_list,
)
from fintech.customers.models import Profile
from fintech.quotes.models import Quote
from fintech.quotes.services import quote_create
from fintech.transfers.models import Transfer, TransferTransition
from tests.api.conftest import issue_client

pytestmark = pytest.mark.django_db


def test_insert_applies_field_defaults_pre_save_and_signals(alice) -> None:
    seen: list[tuple[object, bool]] = []

    def receiver(sender, instance, created, **kwargs) -> None:
        seen.append((instance.pk, created))

    post_save.connect(receiver, sender=AuditEvent, dispatch_uid="test-insert")
    try:
        event = insert(
            AuditEvent(
                actor_label="system:test",
                action="test.done",
                target_type="customers.profile",
                target_id=str(alice.pk),
                data={"n": 1},
            )
        )
    finally:
        post_save.disconnect(dispatch_uid="test-insert", sender=AuditEvent)
    assert event.pk is not None  # RETURNING the serial id
    assert event.occurred_at is not None  # auto_now_add, as save() would set it
    assert seen == [(event.pk, True)]
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.occurred_at, stored.data) == (event.occurred_at, {"n": 1})
    assert not event._state.adding


@pytest.fixture
def application(alice) -> Application:
    return Application.objects.get(client_id=issue_client(alice).client_id)


def test_insert_encrypts_like_the_orm(application) -> None:
    insert(
        IdempotencyRecord(
            application=application,
            key="k",
            fingerprint="f",
            method="POST",
            path="/api/v1/quotes",
            response_status=201,
            response_body='{"secret": "whsec_123"}',
        )
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM api_idempotencyrecord WHERE key = 'k'")
        (raw,) = cursor.fetchone()
    assert "whsec_123" not in raw
    assert IdempotencyRecord.objects.get(key="k").response_body == '{"secret": "whsec_123"}'


def test_insert_unless_conflict_skips_a_duplicate_and_keeps_the_transaction(application) -> None:
    def record() -> IdempotencyRecord:
        return IdempotencyRecord(
            application=application,
            key="same",
            fingerprint="f",
            method="POST",
            path="/x",
            response_status=201,
        )

    with transaction.atomic():
        assert insert_unless_conflict(record()) is True
        assert insert_unless_conflict(record()) is False
        # No error, no savepoint: the transaction carries on.
        assert IdempotencyRecord.objects.filter(key="same").count() == 1


def test_rows_of_tracked_tables_go_through_the_history_context() -> None:
    # Tables whose pghistory trigger records the request's context must not be written by a
    # prepared statement (which bypasses pghistory's context injection).
    assert _history_tracked(Transfer)
    assert _history_tracked(Quote)
    assert _history_tracked(Profile)
    assert not _history_tracked(AuditEvent)
    assert not _history_tracked(OutboxEvent)
    assert not _history_tracked(TransferTransition)


def test_fetch_instances_builds_what_the_orm_would(alice) -> None:
    parts = (Part(Profile, "p"),)
    sql = f'SELECT {select_list(parts)} FROM "customers_profile" p WHERE p.id = %s'
    (loaded,) = fetch_instances(sql, [alice.pk], parts)
    orm = Profile.objects.get(pk=alice.pk)
    assert {f.attname: getattr(loaded, f.attname) for f in Profile._meta.concrete_fields} == {
        f.attname: getattr(orm, f.attname) for f in Profile._meta.concrete_fields
    }
    assert fetch_instances(sql, [0], parts) is None


def test_reads_are_prepared_once_per_connection_but_still_logged_when_logging() -> None:
    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ["%+ 40%"],
            )
            (count,) = cursor.fetchone()
        return int(count)

    assert fetch_one("SELECT %s::int + 40", [2]) == (42,)
    assert fetch_one("SELECT %s::int + 40", [3]) == (43,)
    # Planned once, executed twice (none prepared with DATABASE_PREPARED_STATEMENTS=false).
    enabled = connection.settings_dict["OPTIONS"].get("prepare_threshold") is not None
    assert prepared() == (1 if enabled else 0)
    # Under CaptureQueriesContext (and DEBUG) it runs through Django's cursor: counted.
    with CaptureQueriesContext(connection) as queries:
        assert fetch_one("SELECT %s::int + 40", [4]) == (44,)
    assert len(queries) == 1


@pytest.mark.django_db(transaction=True)
def test_a_prepared_read_replaces_a_connection_the_server_dropped() -> None:
    (pid,) = fetch_one("SELECT pg_backend_pid()", [])
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        # The server restarted, or an idle timeout ended our persistent connection.
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    close_old_connections()  # what Django does when each request starts
    # Like Django's own cursors: the health check notices and reconnects, no error.
    assert fetch_one("SELECT %s::int + 1", [6]) == (7,)
    assert fetch_one("SELECT pg_backend_pid()", []) != (pid,)


def _audit(action: str, **fields: object) -> AuditEvent:
    return AuditEvent(
        actor_label="system:test", action=action, target_type="t", target_id="1", **fields
    )


def test_deferred_inserts_are_sent_before_the_next_statement_in_order() -> None:
    saved: list[object] = []

    def receiver(sender, instance, created, **kwargs) -> None:
        saved.append(instance.pk)

    post_save.connect(receiver, sender=AuditEvent, dispatch_uid="test-deferred")
    try:
        with transaction.atomic(), inserts_deferred():
            first = insert(_audit("deferred.first"))
            second = insert(_audit("deferred.second"))
            # Queued: nothing assigned by the database yet, no post_save yet.
            assert (first.pk, second.pk, saved) == (None, None, [])
            # The next statement (here a prepared read) takes them along, in order.
            assert fetch_one(
                "SELECT count(*) FROM core_auditevent WHERE action LIKE %s", ["deferred.%"]
            ) == (2,)
            assert first.pk is not None
            assert second.pk > first.pk
            assert saved == [first.pk, second.pk]
            # Sent as one statement: two INSERTs, each a data-modifying CTE of it.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                    ['WITH q0 AS (INSERT INTO "core_auditevent"%q1 AS (INSERT INTO%'],
                )
                (combined,) = cursor.fetchone()
            enabled = connection.settings_dict["OPTIONS"].get("prepare_threshold") is not None
            assert combined == (1 if enabled else 0)
            third = insert(_audit("deferred.third"))
            # An ORM query sends the queue first too.
            assert AuditEvent.objects.filter(action__startswith="deferred.").count() == 3
            fourth = insert(_audit("deferred.fourth"))
        # The end of the block sends what is left.
    finally:
        post_save.disconnect(dispatch_uid="test-deferred", sender=AuditEvent)
    assert third.pk is not None
    assert fourth.pk is not None
    assert list(
        AuditEvent.objects.filter(action__startswith="deferred.")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["deferred.first", "deferred.second", "deferred.third", "deferred.fourth"]


def _insert_a_good_then_a_bad_row() -> None:
    with transaction.atomic(), inserts_deferred():
        insert(_audit("deferred-fail.ok"))
        insert(_audit("deferred-fail.bad", data=None))  # NOT NULL: refused when sent


def test_a_failing_deferred_insert_fails_its_transaction() -> None:
    with pytest.raises(IntegrityError):
        _insert_a_good_then_a_bad_row()
    assert not AuditEvent.objects.filter(action__startswith="deferred-fail.").exists()


@pytest.mark.django_db(transaction=True)
def test_inserts_deferred_needs_a_transaction() -> None:
    with pytest.raises(RuntimeError, match="transaction"), inserts_deferred():
        pass


def test_a_tracked_insert_records_the_current_history_context(alice) -> None:
    QuoteEvent = apps.get_model("quotes", "QuoteEvent")
    with transaction.atomic(), inserts_deferred():
        insert(_audit("history.queued"))  # goes in the same round trip, before the context
        with pghistory.context(actor="user:history-test", ticket="T-7"):
            quote = quote_create(
                actor=Actor.system("history-test"),
                profile=alice,
                source_currency="GBP",
                target_currency="EUR",
                source_amount="10.00",
            )
    created = QuoteEvent.objects.get(pgh_obj_id=quote.pk, pgh_label="insert")
    # The metadata current at the insert: the outer context's, updated by quote_create's own.
    assert created.pgh_context.metadata["actor"] == "system:history-test"
    assert created.pgh_context.metadata["ticket"] == "T-7"
    assert AuditEvent.objects.filter(action="history.queued").exists()


def _other_session_sees(action: str) -> bool:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        row = other.execute("SELECT count(*) FROM core_auditevent WHERE action = %s", [action])
        return bool(row.fetchone()[0])


def _record(application: Application, key: str) -> IdempotencyRecord:
    return IdempotencyRecord(
        application=application,
        key=key,
        fingerprint="f",
        method="POST",
        path="/x",
        response_status=201,
    )


@pytest.mark.django_db(transaction=True)
def test_insert_and_commit_commits_the_transaction_with_its_last_insert(application) -> None:
    hooks: list[str] = []
    with transaction.atomic(), inserts_deferred():
        insert(_audit("commit.deferred"))
        transaction.on_commit(lambda: hooks.append("ran"))
        insert_and_commit(_record(application, "commit-1"))
        # Committed already: another session sees the rows before the block ends.
        assert _other_session_sees("commit.deferred")
        assert hooks == []  # on_commit hooks still run when the block ends, as usual
    assert hooks == ["ran"]
    assert IdempotencyRecord.objects.filter(key="commit-1").exists()


@pytest.mark.django_db(transaction=True)
def test_insert_and_commit_that_fails_commits_nothing(application) -> None:
    insert(_record(application, "taken"))

    def store_a_taken_key() -> None:
        with transaction.atomic(), inserts_deferred():
            insert(_audit("commit.undone"))
            insert_and_commit(_record(application, "taken"))

    with pytest.raises(IntegrityError):
        store_a_taken_key()
    assert not AuditEvent.objects.filter(action="commit.undone").exists()
    assert IdempotencyRecord.objects.filter(key="taken").count() == 1  # and the connection works


@pytest.mark.django_db(transaction=True)
def test_insert_and_commit_in_a_nested_block_leaves_the_commit_to_the_outer_one(
    application,
) -> None:
    with transaction.atomic():
        with transaction.atomic(), inserts_deferred():
            insert(_audit("commit.nested"))
            insert_and_commit(_record(application, "nested"))
        assert not _other_session_sees("commit.nested")
    assert _other_session_sees("commit.nested")


@pytest.mark.django_db(transaction=True)
def test_a_transaction_opened_by_a_prepared_statement_commits_and_rolls_back_as_usual() -> None:
    # Its BEGIN rides with the first statement (psycopg is in autocommit mode meanwhile).
    with transaction.atomic(), inserts_deferred():
        insert(_audit("begun.kept"))
        assert fetch_one("SELECT count(*) FROM core_auditevent", []) == (1,)
        assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert not _other_session_sees("begun.kept")  # still in the transaction
    assert _other_session_sees("begun.kept")

    def fail_after_writing() -> None:
        with transaction.atomic():
            fetch_one("SELECT 1", [])
            insert(_audit("begun.undone"))
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError):
        fail_after_writing()
    assert not AuditEvent.objects.filter(action="begun.undone").exists()
    # Django is back in autocommit, and so is psycopg: the next statement commits on its own.
    assert connection.get_autocommit()
    assert connection.connection.autocommit
    insert(_audit("begun.autocommit"))
    assert _other_session_sees("begun.autocommit")


@pytest.mark.django_db(transaction=True)
def test_a_first_statement_refused_before_it_is_sent_leaves_the_transaction_atomic() -> None:
    def write_after_a_refused_read_then_fail() -> None:
        with transaction.atomic():
            with contextlib.suppress(DatabaseError):  # and carries on in the transaction...
                fetch_one("SELECT %s", [object()])  # psycopg cannot send this
            AuditEvent.objects.create(
                actor_label="system:test", action="refused.then", target_type="t", target_id="1"
            )
            raise RuntimeError("...and then fails")

    with pytest.raises(RuntimeError):
        write_after_a_refused_read_then_fail()
    # The write went with the transaction, not committed on its own.
    assert not AuditEvent.objects.filter(action="refused.then").exists()
