"""Idempotency-Key for POSTs that create something or move money (IETF draft, Stripe).

- Keyed by (OAuth application, key). A request runs in ONE transaction, which first takes a
  PostgreSQL advisory lock on its key (`pg_try_advisory_xact_lock`, released when the
  transaction ends). A concurrent duplicate finds the lock taken and gets 409 with
  `Retry-After` at once, instead of waiting.
- In the same statement it reads the key's stored row. Same fingerprint (method, path, JSON
  body): the stored status and body are replayed with `Idempotent-Replayed: true`. Another
  fingerprint: 422.
- Otherwise it runs the request and, on a stored outcome, inserts the key's row with the
  response in that transaction: the effects (transfer, ledger entry, audit row, outbox event)
  and the stored response commit together or not at all. An API error rolls the transaction
  back; its outcome is stored in a second one that takes the key again (a duplicate that took
  it in between owns the key: this request then answers as a duplicate would). A crash rolls
  back and releases the lock with its connection: a retry simply runs the request, and no
  stale "in progress" marker is left to expire.
- Not stored, so the client can fix the request and retry with the same key: responses
  refused before execution or by validation (400, 401, 403, 405, 413, 415, 429) and server
  errors (5xx). Stored: 2xx and the deterministic outcomes of running it (404, 409, 422).
- Rows are kept at least API_IDEMPOTENCY_TTL_HOURS (>= 24), then purged by the beat task
  `api.idempotency_purge`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fintech.api.exceptions import (
    IdempotencyKeyInProgress,
    IdempotencyKeyInvalid,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
)
from fintech.api.models import IdempotencyRecord
from fintech.core.sql import (
    Part,
    fetch_one,
    insert_and_commit,
    inserts_deferred,
    instances,
    quoted_table,
    select_list,
)
from fintech.core.transactions import request_transaction

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Visible ASCII, as the draft's sf-string allows; the OpenAPI document declares the same.
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_KEY = re.compile(KEY_PATTERN)
_KEPT_HEADERS = ("Location",)

HandlerT = TypeVar("HandlerT", bound=Callable[..., HttpResponse])


def is_stored(status: int) -> bool:
    return 200 <= status < 300 or status in (404, 409, 422)


def request_fingerprint(request: Request) -> str:
    """sha256 of method, path and the parsed JSON body, compared by value (key order and
    spacing do not matter). Malformed JSON raises ParseError here: a 400, nothing stored."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(f"{request.method} {request.get_full_path()}\n".encode())
    digest.update(body.encode())
    return digest.hexdigest()


def idempotency_key(request: Request) -> str:
    key = request.headers.get(HEADER)
    if key is None:
        raise IdempotencyKeyMissing()
    if not _KEY.fullmatch(key):
        raise IdempotencyKeyInvalid("must be 1 to 255 visible ASCII characters")
    return key


def advisory_lock_id(application_id: int, key: str) -> int:
    """The key's advisory lock: 64 bits of a hash, namespaced so no other lock user collides
    (a collision of two keys would only make one of them wait for a 409 retry)."""
    digest = hashlib.blake2b(
        f"{application_id}\n{key}".encode(), digest_size=8, person=b"api-idem"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


_RECORD = (Part(IdempotencyRecord, "r"),)
_UNIQUE_KEY = "idempotency_unique_application_key"


@functools.cache
def _lock_and_read_sql() -> str:
    # One statement for lock and read (this runs on every idempotent request). Its snapshot is
    # taken before the lock is: a request that held the key, stored its row and committed in
    # between would be missed here. _store_and_commit's insert then finds that row: nothing of
    # our run commits, and it replays that row (see idempotent_execute), so even that window
    # runs nothing twice.
    columns, table = select_list(_RECORD), quoted_table(IdempotencyRecord)
    return (
        f"SELECT pg_try_advisory_xact_lock(%s), {columns} FROM (SELECT 1) AS one "  # noqa: S608 (names from _meta)
        f"LEFT JOIN {table} r ON r.application_id = %s AND r.key = %s"
    )


def _lock_and_read(lock_id: int, application_id: int, key: str) -> IdempotencyRecord | None:
    """Take the key for this transaction and read its stored row, if it has one; 409 if
    another request holds the key."""
    row = fetch_one(_lock_and_read_sql(), [lock_id, application_id, key])
    assert row is not None  # FROM (SELECT 1): always one row
    if not row[0]:
        raise IdempotencyKeyInProgress(
            f"A request with Idempotency-Key {key!r} is still being processed; retry shortly."
        )
    (record,) = instances(_RECORD, row[1:])
    assert record is None or isinstance(record, IdempotencyRecord)
    return record


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        record.response_body,
        status=record.response_status,
        content_type=record.response_headers.get("Content-Type", "application/json"),
    )
    for name in _KEPT_HEADERS:
        if name in record.response_headers:
            response[name] = record.response_headers[name]
    response[REPLAYED_HEADER] = "true"
    return response


def _store_and_commit(
    request: Request, response: Response, application_id: int, key: str, fingerprint: str
) -> None:
    """Store the response and commit the request's transaction, in one round trip (the last
    statement of the transaction: see insert_and_commit). If the key's row is already there
    (see _lock_and_read), nothing commits and _StoredMeanwhile is raised."""
    headers = {"Content-Type": response.content_type or "application/json"}
    headers.update({name: response[name] for name in _KEPT_HEADERS if response.has_header(name)})
    record = IdempotencyRecord(
        application_id=application_id,
        key=key,
        fingerprint=fingerprint,
        method=request.method or "",
        path=request.path[:255],
        request_id=getattr(request, "request_id", ""),
        response_status=response.status_code,
        response_headers=headers,
        response_body=JSONRenderer().render(response.data).decode(),
    )
    try:
        insert_and_commit(record)
    except IntegrityError as exc:
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) == _UNIQUE_KEY:
            raise _StoredMeanwhile() from exc
        raise


class _NotStored(Exception):
    """Unwinds the transaction of a request whose response is not stored."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


class _StoredMeanwhile(Exception):
    """Another request stored this key after our read: undo the whole transaction."""


def _replay_stored(existing: IdempotencyRecord, *, fingerprint: str, key: str) -> HttpResponse:
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was first used for {existing.method} "
            f"{existing.path} with another body; use a new key for a new request."
        )
    return _replay(existing)


def _run_and_store(
    view: APIView,
    request: Request,
    execute: Callable[[], HttpResponse],
    *,
    lock_id: int,
    application_id: int,
    key: str,
    fingerprint: str,
) -> HttpResponse:
    """One transaction: take the key, replay its stored response or run the request and store
    its response. Committing releases the key."""
    try:
        # Nothing in the request carries on after an error, so its services need no savepoints,
        # and its audit rows and events travel with the stored response (inserts_deferred).
        with request_transaction(), inserts_deferred():
            existing = _lock_and_read(lock_id, application_id, key)
            if existing is not None:
                return _replay_stored(existing, fingerprint=fingerprint, key=key)
            response = execute()
            if not isinstance(response, Response) or not is_stored(response.status_code):
                raise _NotStored(response)  # e.g. a 400 returned, not raised: keep nothing
            _store_and_commit(request, response, application_id, key, fingerprint)
        return response
    except _NotStored as unwound:
        return unwound.response
    except (_StoredMeanwhile, IdempotencyKeyInProgress, IdempotencyKeyReused):
        raise  # about the key, not an outcome of running the request
    except Exception as exc:
        # Rolled back: nothing of the request happened, and the key was released with it.
        error = view.handle_exception(exc)  # re-raises anything that is not an API error
        if not (isinstance(error, Response) and is_stored(error.status_code)):
            return error
    # Store the outcome, taking the key again. If a duplicate took it in between, its outcome
    # is the key's: this request answers as a duplicate would (409 while it runs, or the replay).
    with transaction.atomic():
        existing = _lock_and_read(lock_id, application_id, key)
        if existing is not None:
            return _replay_stored(existing, fingerprint=fingerprint, key=key)
        _store_and_commit(request, error, application_id, key, fingerprint)
    return error


def idempotent_execute(
    view: APIView, request: Request, execute: Callable[[], HttpResponse]
) -> HttpResponse:
    application_id = request.api_caller.application_id  # type: ignore[attr-defined]
    key = idempotency_key(request)
    fingerprint = request_fingerprint(request)
    lock_id = advisory_lock_id(application_id, key)
    for _attempt in range(2):
        try:
            return _run_and_store(
                view,
                request,
                execute,
                lock_id=lock_id,
                application_id=application_id,
                key=key,
                fingerprint=fingerprint,
            )
        except _StoredMeanwhile:
            continue  # the next attempt reads the stored row and replays it
    raise IdempotencyKeyInProgress("The key is changing hands; retry shortly.")


def idempotent(handler: HandlerT) -> HandlerT:
    """Decorate a view's `post`: require an Idempotency-Key and apply its semantics."""

    @functools.wraps(handler)
    def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        return idempotent_execute(view, request, lambda: handler(view, request, *args, **kwargs))

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return cast(HandlerT, wrapper)
