"""Idempotency-Key for POSTs that create something or move money (IETF draft, Stripe).

- Keyed by (OAuth application, key). The first request claims the key by inserting its row
  "in progress" (committed at once, so a concurrent duplicate sees it and gets 409 with
  `Retry-After` instead of waiting), with a fingerprint of method, path and JSON body.
- The request then runs in ONE transaction that first locks its row and, on success, stores
  the response in it: the effects (transfer, ledger entry, audit row, outbox event) and the
  stored response commit together or not at all. A crash before that commit leaves only the
  "in progress" row, with nothing done; after API_IDEMPOTENCY_LOCK_SECONDS another request
  with the same key takes it over (a conditional UPDATE that exactly one request wins) and
  runs it.
- Same key, same fingerprint: the stored status and body are replayed with
  `Idempotent-Replayed: true`. Same key, different fingerprint: 422.
- Not stored, so the client can fix the request and retry with the same key: responses
  refused before execution or by validation (400, 401, 403, 405, 413, 415, 429) and server
  errors (5xx); their row is deleted. Stored: 2xx and the deterministic outcomes of running
  it (404, 409, 422).
- Rows are kept at least API_IDEMPOTENCY_TTL_HOURS (>= 24), then purged by the beat task
  `api.idempotency_purge`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
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


def _claim(
    *, application_id: int, key: str, fingerprint: str, request: Request
) -> tuple[IdempotencyRecord | None, IdempotencyRecord | None]:
    """(owned, existing): the row we now own, or the row someone else holds."""
    now = timezone.now()
    for _attempt in range(3):
        try:
            # Committed on its own (a savepoint when a caller already holds a transaction), so
            # a concurrent duplicate finds it at once instead of waiting on our transaction.
            with transaction.atomic():
                return (
                    IdempotencyRecord.objects.create(
                        application_id=application_id,
                        key=key,
                        fingerprint=fingerprint,
                        method=request.method or "",
                        path=request.path[:255],
                        locked_at=now,
                        request_id=getattr(request, "request_id", ""),
                    ),
                    None,
                )
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(
                application_id=application_id, key=key
            ).first()
        if existing is None:
            continue  # its owner released it between our INSERT and SELECT: try again
        stale = now - dt.timedelta(seconds=settings.API_IDEMPOTENCY_LOCK_SECONDS)
        if (
            existing.state == IdempotencyRecord.State.IN_PROGRESS
            and existing.fingerprint == fingerprint
            and existing.locked_at < stale
        ):
            # Its owner died mid-request; nothing of it committed (effects and completion
            # commit together). Take it over with a conditional UPDATE: of several requests
            # racing here exactly one changes the row. If the owner is in fact still running it
            # holds the row lock, so we wait, then find it completed and update nothing.
            new_owner = uuid.uuid4()
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, owner=existing.owner, state=IdempotencyRecord.State.IN_PROGRESS
            ).update(owner=new_owner, locked_at=now, request_id=getattr(request, "request_id", ""))
            if taken == 1:
                existing.owner, existing.locked_at = new_owner, now
                return existing, None
            existing = IdempotencyRecord.objects.filter(pk=existing.pk).first()
            if existing is None:
                continue
        return None, existing
    raise IdempotencyKeyInProgress("The key is changing hands; retry shortly.")


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        record.response_body,
        status=record.response_status or 200,
        content_type=record.response_headers.get("Content-Type", "application/json"),
    )
    for name in _KEPT_HEADERS:
        if name in record.response_headers:
            response[name] = record.response_headers[name]
    response[REPLAYED_HEADER] = "true"
    return response


def _store(record: IdempotencyRecord, response: Response) -> None:
    headers = {"Content-Type": response.content_type or "application/json"}
    headers.update({name: response[name] for name in _KEPT_HEADERS if response.has_header(name)})
    record.state = IdempotencyRecord.State.COMPLETED
    record.response_status = response.status_code
    record.response_headers = headers
    record.response_body = JSONRenderer().render(response.data).decode()
    record.completed_at = timezone.now()
    record.save(
        update_fields=[
            "state",
            "response_status",
            "response_headers",
            "response_body",
            "completed_at",
        ]
    )


def _lock_owned(record: IdempotencyRecord) -> IdempotencyRecord | None:
    # Row lock until commit: whoever holds it is the only one running this key; a takeover
    # (see _claim) waits for it and then sees the stored response.
    return (
        IdempotencyRecord.objects.select_for_update()
        .filter(pk=record.pk, owner=record.owner, state=IdempotencyRecord.State.IN_PROGRESS)
        .first()
    )


def _release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, owner=record.owner).delete()


class _NotStored(Exception):
    """Unwinds the transaction of a request whose response is not stored (e.g. a 400)."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def idempotent_execute(
    view: APIView, request: Request, execute: Callable[[], HttpResponse]
) -> HttpResponse:
    caller = request.api_caller  # type: ignore[attr-defined]
    key = idempotency_key(request)
    fingerprint = request_fingerprint(request)
    owned, existing = _claim(
        application_id=caller.application_id, key=key, fingerprint=fingerprint, request=request
    )
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was first used for {existing.method} {existing.path} "
                "with another body; use a new key for a new request."
            )
        if existing.state == IdempotencyRecord.State.COMPLETED:
            return _replay(existing)
        raise IdempotencyKeyInProgress(
            f"A request with Idempotency-Key {key!r} is still being processed; retry shortly."
        )
    record = cast(IdempotencyRecord, owned)
    try:
        with transaction.atomic():
            locked = _lock_owned(record)
            if locked is None:
                # Taken over while we were slow to start: the other request runs it.
                raise _NotStored(view.handle_exception(IdempotencyKeyInProgress()))
            response = execute()
            if not isinstance(response, Response) or not is_stored(response.status_code):
                raise _NotStored(response)
            _store(locked, response)
        return response
    except _NotStored as unwound:
        _release(record)
        return unwound.response
    except Exception as exc:
        # The transaction rolled back: nothing of the request happened.
        try:
            response = view.handle_exception(exc)  # re-raises anything that is not an API error
        except Exception:
            _release(record)
            raise
        if is_stored(response.status_code):
            with transaction.atomic():
                locked = _lock_owned(record)
                if locked is not None:
                    _store(locked, response)
        else:
            _release(record)
        return response


def idempotent(handler: HandlerT) -> HandlerT:
    """Decorate a view's `post`: require an Idempotency-Key and apply its semantics."""

    @functools.wraps(handler)
    def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        return idempotent_execute(view, request, lambda: handler(view, request, *args, **kwargs))

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return cast(HandlerT, wrapper)
