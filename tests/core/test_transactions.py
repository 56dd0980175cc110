"""Service transactions: a savepoint wherever a caller may carry on after the service's error,
none where nobody can (directly inside a request transaction)."""

from __future__ import annotations

import contextlib

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from fintech.core.models import AuditEvent
from fintech.core.services import Actor, audit_record
from fintech.core.transactions import request_transaction, service_transaction

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test")


class Refused(Exception):
    pass


@service_transaction
def record(action: str) -> None:
    audit_record(actor=ACTOR, action=action, target=AuditEvent(pk=0))


@service_transaction
def record_then_refuse(action: str) -> None:
    record(action)
    raise Refused(action)


@service_transaction
def record_tolerating_a_refusal(action: str) -> None:
    with contextlib.suppress(Refused):  # and carries on, in the same transaction
        record_then_refuse(f"{action}.inner")
    record(f"{action}.outer")


def savepoints(queries: CaptureQueriesContext) -> int:
    return sum(1 for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT"))


def actions(prefix: str) -> set[str]:
    return set(
        AuditEvent.objects.filter(action__startswith=prefix).values_list("action", flat=True)
    )


def test_a_service_directly_in_a_request_transaction_takes_no_savepoint() -> None:
    with transaction.atomic():  # as the test's own transaction would be for a real request
        with CaptureQueriesContext(connection) as queries, request_transaction():
            record("direct.one")
            record("direct.two")
        # One savepoint: the request block's own (nested in the test's transaction); none for
        # the services.
        assert savepoints(queries) == 1
    assert actions("direct.") == {"direct.one", "direct.two"}


def a_request_that_fails_midway() -> None:
    with request_transaction():
        record("undone.first")
        record_then_refuse("undone.second")


def test_a_failing_service_in_a_request_transaction_undoes_the_whole_request() -> None:
    with pytest.raises(Refused):
        a_request_that_fails_midway()
    assert actions("undone.") == set()


def test_a_caller_that_catches_a_service_error_can_carry_on_elsewhere() -> None:
    with transaction.atomic():
        with pytest.raises(Refused):
            record_then_refuse("caught.inner")
        record("caught.after")  # the savepoint kept the transaction usable
    assert actions("caught.") == {"caught.after"}


def test_a_service_nested_in_another_keeps_its_savepoint_inside_a_request() -> None:
    # The outer service catches the inner one's error and carries on: the inner one must have
    # had a savepoint even though the request transaction is all-or-nothing.
    with request_transaction():
        record_tolerating_a_refusal("nested")
    assert actions("nested") == {"nested.outer"}
