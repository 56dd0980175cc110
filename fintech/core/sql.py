"""Hot-path SQL: statements built once per process from the models' metadata.

The ORM compiles every query again on every call; on the API's request path that compilation
costs several times the statement itself. These helpers build a statement's SQL once from the
models' `_meta` and turn its rows into model instances with the fields' own conversions
(decryption, JSON, arrays), so callers get what the ORM would have given them. Reads, and
writes to tables without row history, run as server-side prepared statements (see _execute).

Use them only where a profile shows the ORM's cost matters; everywhere else, the ORM. The
ledger does not use them: its tables are written by its own services only.

Within `inserts_deferred()`, inserts that nobody needs an answer from (audit rows, outbox
events) wait and travel with the next statement, several statements in one round trip.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple, TypeVar

import pghistory.config
import pghistory.runtime
import pghistory.trigger
import pgtrigger
import psycopg
from django.db import OperationalError, connection
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


def _execute(
    sql: str, params: Sequence[Any], *, prepared: bool, read: bool = False
) -> tuple[Any, ...] | None:
    """Run one statement; its first row, if it returns rows.

    `prepared`: as a server-side prepared statement, which PostgreSQL parses and plans once per
    connection (connections are persistent); for a join the plan costs several times the
    execution. It bypasses Django's execute wrappers (writes to history-tracked tables carry
    pghistory's context themselves: see _with_history_context). Where queries are being
    logged (DEBUG, CaptureQueriesContext) everything runs through Django's cursor, so it is
    counted. DATABASE_PREPARED_STATEMENTS=false (e.g. behind PgBouncer in transaction mode)
    leaves the statements unprepared.

    Deferred inserts (see inserts_deferred) go first, in the same round trip.
    """
    row: tuple[Any, ...] | None = None
    if not prepared or connection.queries_logged:
        with connection.cursor() as cursor:  # sends deferred inserts first (_send_deferred_first)
            cursor.execute(sql, params)
            if cursor.description is not None:
                row = cursor.fetchone()
        return row
    if connection.in_atomic_block:
        return _send([*_take_deferred(), _Statement(sql, list(params))])
    if read:
        return _read_checking_health(sql, params)
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    return _send([_Statement(sql, list(params))])


def _read_checking_health(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """A statement outside a transaction (a read: the token lookup is a request's first), which
    is also the request's connection health check (CONN_HEALTH_CHECKS). Django's own check is a
    `SELECT 1` round trip before the first query; here the query itself tells: if a persistent
    connection the server dropped fails it, the connection is replaced and the read, which
    changed nothing, runs again."""
    # Attributes of Django's BaseDatabaseWrapper the stubs leave out.
    check = connection.health_check_enabled and not connection.health_check_done  # type: ignore[attr-defined]
    connection.ensure_connection()
    try:
        row = _send([_Statement(sql, list(params))])
    except OperationalError:
        raw = connection.connection
        if not check or raw is None or not (raw.closed or raw.broken):
            raise
        connection.close()  # Django's replacement, as its failed health check would do
        connection.ensure_connection()
        row = _send([_Statement(sql, list(params))])
    connection.health_check_done = True  # type: ignore[attr-defined]
    return row


class _Statement(NamedTuple):
    sql: str
    params: list[Any]
    done: Callable[[tuple[Any, ...] | None], None] | None = None  # gets the row when sent
    prepare: bool = True  # False for what PostgreSQL cannot prepare (COMMIT)
    # A plain single-row INSERT that may share one statement with others (see _combined):
    # how many columns it returns; None if it may not.
    returns: int | None = None


def _send(statements: list[_Statement]) -> tuple[Any, ...] | None:
    """Send prepared statements in one round trip (pipeline mode when there are several); call
    each one's `done` with its row, in order; the last one's row."""
    with connection.wrap_database_errors:
        raw = connection.connection
        statements = _combined(statements)
        if _begins_transaction(raw):
            statements = [_Statement("BEGIN", [], prepare=False), *statements]
            try:
                return _run(raw, statements)
            finally:
                if raw.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                    # Our BEGIN never reached the server: back to psycopg beginning
                    # transactions itself, or later statements would each commit alone.
                    raw.autocommit = False
        return _run(raw, statements)


def _run(raw: psycopg.Connection[Any], statements: list[_Statement]) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = None
    cursors = []
    if len(statements) == 1:
        cursors.append(psycopg.Cursor(raw))
        cursors[0].execute(statements[0].sql, statements[0].params, prepare=True)
    else:
        with raw.pipeline():
            for statement in statements:
                cursor = psycopg.Cursor(raw)
                cursor.execute(statement.sql, statement.params, prepare=statement.prepare)
                cursors.append(cursor)
    for statement, cursor in zip(statements, cursors, strict=True):
        # The result's status, not `description`: building the column descriptions of a
        # 60-column join cost more than the query.
        result = cursor.pgresult
        row = None
        if result is not None and result.status == psycopg.pq.ExecStatus.TUPLES_OK:
            row = cursor.fetchone()
        cursor.close()
        if statement.done is not None:
            statement.done(row)
    return row


def _combined(statements: list[_Statement]) -> list[_Statement]:
    """Consecutive plain INSERTs as one statement, each a data-modifying CTE: PostgreSQL runs
    them all (constraints, defaults, a failure failing the lot, as before), and the client
    handles one statement instead of several, which is most of what an INSERT costs here."""
    result: list[_Statement] = []
    run: list[_Statement] = []
    for statement in [*statements, _Statement("", [])]:  # a sentinel ends the last run
        if statement.returns is not None:
            run.append(statement)
            continue
        if len(run) == 1:
            result.append(run[0])
        elif run:
            result.append(_one_statement(run))
        run = []
        if statement.sql:
            result.append(statement)
    return result


def _one_statement(run: list[_Statement]) -> _Statement:
    counts = tuple(statement.returns or 0 for statement in run)
    sql = _combined_sql(tuple(statement.sql for statement in run), counts)

    def done(row: tuple[Any, ...] | None) -> None:
        start = 0
        for statement, count in zip(run, counts, strict=True):
            if statement.done is not None:
                statement.done(row[start : start + count] if row is not None else None)
            start += count

    params = [param for statement in run for param in statement.params]
    return _Statement(sql, params, done)


@functools.lru_cache(maxsize=256)
def _combined_sql(sqls: tuple[str, ...], counts: tuple[int, ...]) -> str:
    ctes = ", ".join(f"q{n} AS ({sql})" for n, sql in enumerate(sqls))
    returning = [f"q{n}" for n, count in enumerate(counts) if count]
    if not returning:
        return f"WITH {ctes} SELECT 1"
    columns = ", ".join(f"{name}.*" for name in returning)
    return f"WITH {ctes} SELECT {columns} FROM {', '.join(returning)}"  # noqa: S608 (our own SQL)


def _begins_transaction(raw: psycopg.Connection[Any]) -> bool:
    """Whether these statements open the transaction Django has begun (an atomic block whose
    first statement this is); if so, its BEGIN rides with them.

    psycopg would send BEGIN on its own and wait for the answer: a round trip of its own on
    every transaction. Switching psycopg to autocommit while no transaction is open (which it
    allows) stops that; our BEGIN then opens the transaction on the server, and Django ends
    it as usual: psycopg sends COMMIT or ROLLBACK whenever the server is in a transaction,
    and Django turns autocommit back on after it."""
    if (
        not connection.in_atomic_block
        or raw.autocommit
        or raw.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE
        or raw.isolation_level is not None
        or raw.read_only is not None
        or raw.deferrable is not None
    ):
        return False
    raw.autocommit = True
    return True


# --- deferred inserts ------------------------------------------------------------------------

_deferred: ContextVar[list[_Statement] | None] = ContextVar("inserts_deferred", default=None)


def _take_deferred() -> list[_Statement]:
    queue = _deferred.get()
    if not queue:
        return []
    taken = queue[:]
    queue.clear()
    return taken


def _send_deferred_first(execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
    # Any statement through Django's cursor (the ORM, history-tracked inserts) sends the
    # deferred inserts before it, so writes reach the database in the order they were made.
    queued = _take_deferred()
    if queued:
        _send(queued)
    return execute(sql, params, many, context)


@contextmanager
def inserts_deferred() -> Iterator[None]:
    """Inside a transaction: `insert` into a table without row history sends nothing yet. The
    queued inserts go to PostgreSQL together with the next statement that needs an answer (a
    read, an `insert_unless_conflict`), or at the end of the block: one round trip instead of
    one each. Until then a queued instance lacks what the database assigns (its id) and its
    post_save signal has not been sent. An error in a queued insert is raised where the queue
    is sent, and fails the transaction as it would have anyway. Any statement through Django's
    cursor sends the queue first, so writes keep their order."""
    if not connection.in_atomic_block:
        raise RuntimeError("inserts_deferred needs a transaction")
    if _deferred.get() is not None:  # nested: the outer block sends
        yield
        return
    token = _deferred.set([])
    try:
        with connection.execute_wrapper(_send_deferred_first):
            yield
            queued = _take_deferred()
            if queued:
                _send(queued)
    finally:
        _deferred.reset(token)


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """Run a SELECT, prepared (see _execute); its first row."""
    return _execute(sql, params, prepared=True, read=True)


def fetch_instances(sql: str, params: Sequence[Any], parts: Parts) -> list[Model | None] | None:
    """Run a `select_list(parts)` query expected to return at most one row."""
    row = fetch_one(sql, params)
    return None if row is None else instances(parts, row)


@functools.cache
def _history_tracked(model: type[Model]) -> bool:
    """Whether a pghistory trigger records this table's rows with the request's context."""
    return any(
        isinstance(trigger, pghistory.trigger.Event)
        for tracked, trigger in pgtrigger.registered()
        if tracked is model
    )


def _history_context() -> list[str] | None:
    """The settings pghistory's trigger reads to record who made a change (what its execute
    wrapper sets before each write through Django's cursor); None outside pghistory.context."""
    # pghistory keeps the current context here (pghistory.runtime, pinned version).
    current = getattr(pghistory.runtime._tracker, "value", None)
    if current is None:
        return None
    return [str(current.id), json.dumps(current.metadata, cls=pghistory.config.json_encoder())]


@functools.cache
def _with_history_context(sql: str, returning: bool) -> str:
    # Set in the RETURNING list: RETURNING is computed as the row is written, and pghistory's
    # AFTER trigger fires at the end of the statement, so it finds them in place. The settings
    # are local to the transaction, as pghistory's own are.
    settings = (
        "set_config('pghistory.context_id', %s, true), "
        "set_config('pghistory.context_metadata', %s, true)"
    )
    return f"{sql}, {settings}" if returning else f"{sql} RETURNING {settings}"


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


def _insert(instance: Model, *, on_conflict_do_nothing: bool, commit: bool = False) -> bool:
    model = type(instance)
    sql, fields, returning = _insert_plan(model, on_conflict_do_nothing)
    pre_save.send(
        sender=model, instance=instance, raw=False, using=connection.alias, update_fields=None
    )
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    tracked = _history_tracked(model)
    queue = _deferred.get()
    immediate = tracked or on_conflict_do_nothing or commit or connection.queries_logged
    if queue is not None and not immediate:
        done = functools.partial(_inserted, instance, returning)
        queue.append(_Statement(sql, values, done, returns=len(returning)))
        return True
    if tracked and connection.queries_logged:  # through Django's cursor: pghistory injects
        row = _execute(sql, values, prepared=False)
    else:
        context = _history_context() if tracked else None
        if context is not None:
            sql, values = _with_history_context(sql, bool(returning)), [*values, *context]
        if commit and _may_commit():
            rows: list[tuple[Any, ...] | None] = []
            combinable = None if context else len(returning)
            _send(
                [
                    *_take_deferred(),
                    _Statement(sql, values, rows.append, returns=combinable),
                    _Statement("COMMIT", [], prepare=False),
                ]
            )
            row = rows[0]
        else:
            row = _execute(sql, values, prepared=True)
        if context is not None and row is not None:
            row = row[:-2]  # the settings
    if returning and row is None:
        return False  # ON CONFLICT DO NOTHING skipped it
    _inserted(instance, returning, row)
    return True


def _may_commit() -> bool:
    # Only the outermost atomic block's transaction is ours to end.
    return (
        len(connection.atomic_blocks) == 1
        and not connection.needs_rollback
        and not connection.queries_logged
    )


def _inserted(
    instance: Model, returning: list[Field[Any, Any]], row: tuple[Any, ...] | None
) -> None:
    for field, value in zip(returning, row or (), strict=True):
        setattr(instance, field.attname, _from_db(field, value))
    instance._state.adding = False
    instance._state.db = connection.alias
    post_save.send(
        sender=type(instance),
        instance=instance,
        created=True,
        update_fields=None,
        raw=False,
        using=connection.alias,
    )


def insert(instance: M) -> M:
    """Save a new `instance` as `Model.save()` would (the fields' pre_save, e.g. auto_now_add;
    their conversions, e.g. encryption; pre_save and post_save signals with created=True),
    with the INSERT built once per model. Only for plain models without parents."""
    _insert(instance, on_conflict_do_nothing=False)
    return instance


def insert_and_commit(instance: Model) -> None:
    """The last write of a transaction: insert `instance` and COMMIT, with the deferred
    inserts, in one round trip. If any of them fails (a unique violation, say), it raises and
    nothing is committed. The enclosing `atomic` block must end right after: its own commit
    then finds nothing left to do (psycopg skips a COMMIT outside a transaction) and runs the
    on_commit hooks as usual.

    Only the outermost block may commit: nested in another (a caller's, a test's), this
    inserts at once and the outer block's end commits, or not, as usual."""
    _insert(instance, on_conflict_do_nothing=False, commit=True)


def insert_unless_conflict(instance: Model) -> bool:
    """`insert`, unless the row would violate a unique constraint: then nothing is written, the
    transaction carries on (no savepoint needed), and the answer is False."""
    return _insert(instance, on_conflict_do_nothing=True)
