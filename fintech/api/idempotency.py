"""Idempotency-Key for POSTs that create something or move money (IETF draft, Stripe).

- Keyed by (OAuth application, key). A request runs in ONE transaction that first takes a
  PostgreSQL advisory lock on its key (`pg_try_advisory_xact_lock`). A concurrent duplicate
  finds the lock taken and gets 409 with `Retry-After` at once, instead of waiting.
- Holding the lock, it reads the key's stored row. Same fingerprint (method, path, JSON body):
  the stored status and body are replayed with `Idempotent-Replayed: true`. Another
  fingerprint: 422.
- Otherwise it runs the request and, on a stored outcome, inserts the key's row with the
  response in the same transaction: the effects (transfer, ledger entry, audit row, outbox
  event) and the stored response commit together or not at all. A crash rolls back both and
  releases the lock with its connection, so a retry simply runs the request: nothing is
  half-done and no stale "in progress" marker is left to expire.
- Not stored, so the client can fix the request and retry with the same key: responses
  refused before execution or by validation (400, 401, 403, 405, 413, 415, 429) and server
  errors (5xx); their effects are rolled back with a savepoint. Stored: 2xx and the
  deterministic outcomes of running it (404, 409, 422).
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

from django.db import connection, transaction
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
from fintech.core.sql import insert

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the draft's sf-string allows
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
    if not _KEY.match(key):
        raise IdempotencyKeyInvalid("must be 1 to 255 visible ASCII characters")
    return key


def advisory_lock_id(application_id: int, key: str) -> int:
    """The key's advisory lock: 64 bits of a hash, namespaced so no other lock user collides
    (a collision of two keys would only make one of them wait for a 409 retry)."""
    digest = hashlib.blake2b(
        f"{application_id}\n{key}".encode(), digest_size=8, person=b"api-idem"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def _try_lock(application_id: int, key: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s)", [advisory_lock_id(application_id, key)]
        )
        row = cursor.fetchone()
    return bool(row and row[0])


# Raw SQL: it runs on every idempotent request (the ORM would compile the query each time);
# `raw()` still applies the fields' conversions (the body's decryption).
_STORED_SQL = (
    f'SELECT * FROM "{IdempotencyRecord._meta.db_table}" '  # noqa: S608 (a model's table)
    'WHERE "application_id" = %s AND "key" = %s'
)


def _stored(application_id: int, key: str) -> IdempotencyRecord | None:
    rows = IdempotencyRecord.objects.raw(_STORED_SQL, [application_id, key])
    return next(iter(rows), None)


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


def _store(
    request: Request, *, application_id: int, key: str, fingerprint: str, response: Response
) -> None:
    headers = {"Content-Type": response.content_type or "application/json"}
    headers.update({name: response[name] for name in _KEPT_HEADERS if response.has_header(name)})
    insert(
        IdempotencyRecord(
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
    )


class _NotStored(Exception):
    """Unwinds the savepoint of a request whose response is not stored (e.g. a 400)."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _run(view: APIView, execute: Callable[[], HttpResponse]) -> HttpResponse:
    """Run the request in a savepoint: an error response keeps none of its writes, while the
    caller's transaction (and so the key's lock) carries on to store that outcome."""
    try:
        with transaction.atomic():
            response = execute()
            if not isinstance(response, Response) or not is_stored(response.status_code):
                raise _NotStored(response)
        return response
    except _NotStored as unwound:
        return unwound.response
    except Exception as exc:
        return view.handle_exception(exc)  # re-raises anything that is not an API error


def idempotent_execute(
    view: APIView, request: Request, execute: Callable[[], HttpResponse]
) -> HttpResponse:
    application_id = request.api_caller.application_id  # type: ignore[attr-defined]
    key = idempotency_key(request)
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        if not _try_lock(application_id, key):
            raise IdempotencyKeyInProgress(
                f"A request with Idempotency-Key {key!r} is still being processed; retry shortly."
            )
        existing = _stored(application_id, key)
        if existing is not None:
            if existing.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    f"Idempotency-Key {key!r} was first used for {existing.method} "
                    f"{existing.path} with another body; use a new key for a new request."
                )
            return _replay(existing)
        response = _run(view, execute)
        if isinstance(response, Response) and is_stored(response.status_code):
            _store(
                request,
                application_id=application_id,
                key=key,
                fingerprint=fingerprint,
                response=response,
            )
        return response


def idempotent(handler: HandlerT) -> HandlerT:
    """Decorate a view's `post`: require an Idempotency-Key and apply its semantics."""

    @functools.wraps(handler)
    def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        return idempotent_execute(view, request, lambda: handler(view, request, *args, **kwargs))

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return cast(HandlerT, wrapper)
