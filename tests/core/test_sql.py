"""fintech.core.sql: the hot path's statements behave as the ORM's would."""

from __future__ import annotations

import psycopg
import pytest
from django.db import close_old_connections, connection, transaction
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import Application

from fintech.api.models import IdempotencyRecord
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.core.sql import (
    Part,
    _history_tracked,
    fetch_instances,
    fetch_one,
    insert,
    insert_unless_conflict,
    select_list,
)
from fintech.customers.models import Profile
from fintech.quotes.models import Quote
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
