"""Xero's `Idempotency-Key` on writes: the same key replays the first answer; the same key with
another request is refused (400); the same key while the first is still running is a 409.

The key is reserved by an INSERT committed before the work (a unique constraint per tenant
and key decides between concurrent requests); the answer is stored in the transaction that
does the work, so a replay never sees an answer whose work was rolled back. A reservation
left by a worker that died is taken over after STALE_SECONDS; keys are kept KEEP_HOURS."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from integrations.models import XeroSandboxIdempotency, XeroSandboxOrg
from integrations.simulators.xero.responses import XeroValidationError, problem

STALE_SECONDS = 60
KEEP_HOURS = 24
MAX_KEY_LENGTH = 200


def request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path()):
        digest.update(part.encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def run_once(
    request: HttpRequest, org: XeroSandboxOrg, work: Callable[[], HttpResponse]
) -> HttpResponse:
    """Run `work` (a write) at most once per Idempotency-Key; without a key, just run it."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return _atomic(work)
    if len(key) > MAX_KEY_LENGTH:
        return problem(400, "Bad Request", "Idempotency-Key is too long")
    fingerprint = request_hash(request)
    _expired_purge(org)
    stale = timezone.now() - timedelta(seconds=STALE_SECONDS)
    XeroSandboxIdempotency.objects.filter(
        org=org, key=key, status_code__isnull=True, created_at__lt=stale
    ).delete()
    try:
        with transaction.atomic():
            row = XeroSandboxIdempotency.objects.create(org=org, key=key, request_hash=fingerprint)
    except IntegrityError:
        first = XeroSandboxIdempotency.objects.filter(org=org, key=key).first()
        if first is None:  # it was stale and just taken over: ask the caller to try again
            return problem(409, "Conflict", "A request with this Idempotency-Key is in progress")
        if first.request_hash != fingerprint:
            return problem(
                400,
                "Bad Request",
                "The Idempotency-Key has already been used with a different request",
            )
        if first.status_code is None:
            return problem(409, "Conflict", "A request with this Idempotency-Key is in progress")
        replay = HttpResponse(first.body, status=first.status_code, content_type="application/json")
        replay["Idempotent-Replayed"] = "true"
        return replay
    try:
        with transaction.atomic():
            response = _atomic(work)
            if response.status_code >= 500:
                raise _Undo(response)
            XeroSandboxIdempotency.objects.filter(pk=row.pk).update(
                status_code=response.status_code, body=response.content.decode()
            )
    except _Undo as undo:
        XeroSandboxIdempotency.objects.filter(pk=row.pk).delete()
        return undo.response
    except Exception:
        XeroSandboxIdempotency.objects.filter(pk=row.pk).delete()
        raise
    return response


def _expired_purge(org: XeroSandboxOrg, *, batch: int = 100) -> None:
    """Keys are kept KEEP_HOURS; older ones go, a bounded batch per write."""
    cutoff = timezone.now() - timedelta(hours=KEEP_HOURS)
    old = XeroSandboxIdempotency.objects.filter(org=org, created_at__lt=cutoff)
    keys = list(old.values_list("pk", flat=True)[:batch])
    if keys:
        XeroSandboxIdempotency.objects.filter(pk__in=keys).delete()


class _Undo(Exception):
    def __init__(self, response: HttpResponse) -> None:
        super().__init__("not stored")
        self.response = response


def _atomic(work: Callable[[], HttpResponse]) -> HttpResponse:
    """`work` in a transaction; a refusal (XeroValidationError) rolls its writes back."""
    try:
        with transaction.atomic():
            return work()
    except XeroValidationError as refused:
        return refused.response()
