"""Hot-path SQL: statements built once per process from the models' metadata.

The ORM compiles every query again on every call; on the API's request path that compilation
costs several times the statement itself. These helpers build a statement's SQL once from the
models' `_meta` and turn its rows into model instances with the fields' own conversions
(decryption, JSON, arrays), so callers get what the ORM would have given them. Reads, and
writes to tables without row history, run as server-side prepared statements (see _execute).

Use them only where a profile shows the ORM's cost matters; everywhere else, the ORM. The
ledger does not use them: its tables are written by its own services only.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple, TypeVar

import pghistory.trigger
import pgtrigger
import psycopg
from django.db import connection
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save

M = TypeVar("M", bound=Model)


class Part(NamedTuple):
    """A table a joined SELECT reads: its model, its alias in the SQL, and fields to leave out
    (e.g. encrypted details nobody on the path reads); those load on first access, as with
    QuerySet.defer()."""

    model: type[Model]
    alias: str
    defer: tuple[str, ...] = ()


Parts = Sequence[Part]


def quoted_table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.cache
def _fields(model: type[Model], defer: tuple[str, ...] = ()) -> list[Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if f.name not in defer]


def select_list(parts: Parts) -> str:
    """Every concrete column of each part, as `alias."column", ...`."""
    quote = connection.ops.quote_name
    return ", ".join(
        f"{part.alias}.{quote(field.column)}"
        for part in parts
        for field in _fields(part.model, part.defer)
    )


@functools.cache
def _converters(field: Field[Any, Any]) -> tuple[Any, ...]:
    # What the ORM applies to a column it reads (the backend's, then the field's own).
    backend = connection.ops.get_db_converters(field.cached_col)
    return (*backend, *field.get_db_converters(connection))  # type: ignore[attr-defined]


def _from_db(field: Field[Any, Any], value: Any) -> Any:
    if value is None:
        return None
    for converter in _converters(field):
        value = converter(value, field, connection)
    return value


def instances(parts: Parts, row: Sequence[Any]) -> list[Model | None]:
    """The row of a `select_list(parts)` query as one instance per part; None for a part whose
    LEFT JOIN found no row (its primary key is NULL)."""
    result: list[Model | None] = []
    offset = 0
    for model, _alias, defer in parts:
        fields = _fields(model, defer)
        values = row[offset : offset + len(fields)]
        offset += len(fields)
        if values[fields.index(model._meta.pk)] is None:
            result.append(None)
            continue
        converted = [_from_db(field, value) for field, value in zip(fields, values, strict=True)]
        result.append(model.from_db(connection.alias, [f.attname for f in fields], converted))
    return result


def _execute(sql: str, params: Sequence[Any], *, prepared: bool) -> tuple[Any, ...] | None:
    """Run one statement; its first row, if it returns rows.

    `prepared`: as a server-side prepared statement, which PostgreSQL parses and plans once per
    connection (connections are persistent); for a join the plan costs several times the
    execution. It bypasses Django's execute wrappers, so only for statements pghistory need
    not tag (reads, and writes to tables no history trigger records). Where queries are being
    logged (DEBUG, CaptureQueriesContext) everything runs through Django's cursor, so it is
    counted. DATABASE_PREPARED_STATEMENTS=false (e.g. behind PgBouncer in transaction mode)
    leaves the statements unprepared.
    """
    row: tuple[Any, ...] | None = None
    if not prepared or connection.queries_logged:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if cursor.description is not None:
                row = cursor.fetchone()
        return row
    # As Django's own cursor does: a persistent connection the server dropped is noticed by the
    # health check (CONN_HEALTH_CHECKS) and replaced, not used.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as raw:
        raw.execute(sql, params, prepare=True)
        # The result's status, not `description`: building the column descriptions of a
        # 60-column join cost more than the query.
        result = raw.pgresult
        if result is not None and result.status == psycopg.pq.ExecStatus.TUPLES_OK:
            row = raw.fetchone()
    return row


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """Run a SELECT, prepared (see _execute); its first row."""
    return _execute(sql, params, prepared=True)


def fetch_instances(sql: str, params: Sequence[Any], parts: Parts) -> list[Model | None] | None:
    """Run a `select_list(parts)` query expected to return at most one row."""
    row = fetch_one(sql, params)
    return None if row is None else instances(parts, row)


@functools.cache
def _history_tracked(model: type[Model]) -> bool:
    """Whether a pghistory trigger records this table's rows with the request's context: its
    writes must then go through Django's cursor, where pghistory injects that context."""
    return any(
        isinstance(trigger, pghistory.trigger.Event)
        for tracked, trigger in pgtrigger.registered()
        if tracked is model
    )


@functools.cache
def _insert_plan(
    model: type[Model], on_conflict_do_nothing: bool
) -> tuple[str, list[Field[Any, Any]], list[Field[Any, Any]]]:
    meta = model._meta
    assert not meta.parents, "multi-table inheritance is not supported"
    # As Model.save() chooses them for a new row: every stored column but the auto primary key
    # and generated columns; RETURNING what the database assigns.
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    returning: list[Field[Any, Any]] = list(meta.db_returning_fields)
    if on_conflict_do_nothing and not returning:
        returning = [meta.pk]  # to tell an inserted row from a skipped one
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608 (names from _meta)
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    if on_conflict_do_nothing:
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(quote(f.column) for f in returning)}"
    return sql, fields, returning


def _insert(instance: Model, *, on_conflict_do_nothing: bool) -> bool:
    model = type(instance)
    sql, fields, returning = _insert_plan(model, on_conflict_do_nothing)
    pre_save.send(
        sender=model, instance=instance, raw=False, using=connection.alias, update_fields=None
    )
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    row = _execute(sql, values, prepared=not _history_tracked(model))
    if returning and row is None:
        return False  # ON CONFLICT DO NOTHING skipped it
    for field, value in zip(returning, row or (), strict=True):
        setattr(instance, field.attname, _from_db(field, value))
    instance._state.adding = False
    instance._state.db = connection.alias
    post_save.send(
        sender=model,
        instance=instance,
        created=True,
        update_fields=None,
        raw=False,
        using=connection.alias,
    )
    return True


def insert(instance: M) -> M:
    """Save a new `instance` as `Model.save()` would (the fields' pre_save, e.g. auto_now_add;
    their conversions, e.g. encryption; pre_save and post_save signals with created=True),
    with the INSERT built once per model. Only for plain models without parents."""
    _insert(instance, on_conflict_do_nothing=False)
    return instance


def insert_unless_conflict(instance: Model) -> bool:
    """`insert`, unless the row would violate a unique constraint: then nothing is written, the
    transaction carries on (no savepoint needed), and the answer is False."""
    return _insert(instance, on_conflict_do_nothing=True)
