"""Inbound webhooks: verify, store once, answer; then process later, idempotently.

Receiving never calls a partner handler: it checks the signature over the raw body before
reading anything else, stores the message (unique per provider and provider event id, so a
retry or a replay is a duplicate), publishes its id and answers. Processing claims the row,
runs the provider's handler (which applies a status only if it is newer than the last one
applied) and records the outcome. Every refusal is recorded with its verdict and reason.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field, Q
from django.utils import timezone

from fintech.core.dead_letters import dead_letter_record, text_storable
from fintech.core.errors import is_transient_db_error
from fintech.core.services import Actor, audit_record
from integrations import claims
from integrations.errors import IntegrationError
from integrations.inbound.providers import PROVIDERS, MalformedEvent
from integrations.models import InboundWebhook

logger = logging.getLogger(__name__)

# The claim: processing calls our own services (no partner I/O), so a minute is ample; a
# killed worker's message is taken over by the scanner after it.
LEASE_SECONDS = 60
DEAD_LETTER_SOURCE = InboundWebhook.DEAD_LETTER_SOURCE
KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "sandbox-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-request-id",
)
# What we store of a refused body (enough to investigate, not a free storage service).
REFUSED_BODY_CHARS = 4096

Verdict = InboundWebhook.Verdict
Status = InboundWebhook.Status


@dataclass(frozen=True)
class Answer:
    """The HTTP answer to the provider."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


def _kept(headers: dict[str, str]) -> dict[str, str]:
    return {k: text_storable(v[:500]) for k, v in headers.items() if k in KEPT_HEADERS}


def _refuse(
    *,
    provider: str,
    verdict: str,
    headers: dict[str, str],
    body: bytes,
    error: str,
    http_status: int,
    code: str,
) -> Answer:
    InboundWebhook.objects.create(
        provider=provider[:50],
        signature_verdict=verdict,
        status=Status.REJECTED,
        headers=_kept(headers),
        # Refused bodies are any bytes at all: a NUL would make PostgreSQL refuse the record.
        body=text_storable(body[:REFUSED_BODY_CHARS].decode("utf-8", "replace")),
        error=error[:1000],
    )
    return Answer(http_status, {"error": code, "detail": error})


def inbound_receive(
    *,
    provider_name: str,
    headers: dict[str, str],
    body: bytes,
    method: str = "POST",
    uri: str = "",
) -> Answer:
    """Everything `/webhooks/<provider>/` does. `headers` have lower-case names; `method` and
    `uri` (the absolute URL called) for providers that sign them."""
    provider = PROVIDERS.get(provider_name)
    if provider is None:
        return _refuse(
            provider=provider_name,
            verdict=Verdict.UNKNOWN_PROVIDER,
            headers=headers,
            body=body,
            error=f"unknown provider {provider_name[:50]!r}",
            http_status=404,
            code="unknown_provider",
        )
    if len(body) > settings.INBOUND_WEBHOOK_MAX_BYTES:
        return _refuse(
            provider=provider.name,
            verdict=Verdict.INVALID,
            headers=headers,
            body=body,
            error=f"body over {settings.INBOUND_WEBHOOK_MAX_BYTES} bytes",
            http_status=413,
            code="payload_too_large",
        )
    # The signature first, over the raw bytes: nothing of an unverified body is trusted.
    verdict = provider.verify_request(method=method, uri=uri, headers=headers, body=body)
    if verdict != Verdict.VALID:
        reasons = {
            Verdict.MISSING: (401, "signature_missing", "no signature header"),
            Verdict.INVALID: (401, "signature_invalid", "the signature does not match"),
            Verdict.STALE: (400, "timestamp_stale", "the signed timestamp is outside tolerance"),
        }
        http_status, code, error = reasons[Verdict(verdict)]
        return _refuse(
            provider=provider.name,
            verdict=verdict,
            headers=headers,
            body=body,
            error=error,
            http_status=http_status,
            code=code,
        )
    try:
        parsed = provider.parse(json.loads(body))
    except (ValueError, MalformedEvent) as exc:
        error = str(exc) if isinstance(exc, MalformedEvent) else "the body is not valid JSON"
        return _refuse(
            provider=provider.name,
            verdict=Verdict.VALID,
            headers=headers,
            body=body,
            error=error,
            http_status=400,
            code="malformed_event",
        )
    if parsed.type in provider.handshake_types:
        # The provider testing our endpoint: the signature was right, nothing to store.
        return Answer(provider.accepted_status, {})
    known = parsed.type in provider.event_types
    inbound_id = uuid.uuid4()
    now = timezone.now()
    error = "" if known else f"unknown event type {parsed.type!r}"
    with connection.cursor() as cursor:
        # One statement, committed on its own (autocommit; inside a caller's transaction it
        # joins it): the row is durable before we answer, and a duplicate is told by the
        # unique key without an exception, a savepoint or a BEGIN/COMMIT round trip.
        cursor.execute(
            _insert_once_sql(),
            [
                inbound_id,
                provider.name,
                parsed.event_id,
                parsed.type,
                parsed.occurred_at,
                Verdict.VALID.value,
                (Status.RECEIVED if known else Status.IGNORED).value,
                json.dumps(_kept(headers)),
                body.decode("utf-8", "replace"),
                error,
                0,
                now if known else None,
                now,
            ],
        )
        stored = cursor.rowcount == 1
    if not stored:
        return Answer(200, {"status": "duplicate", "event_id": parsed.event_id})
    if not known:
        return Answer(202, {"status": "ignored", "detail": error})
    _publish(inbound_id)
    return Answer(provider.accepted_status, {"status": "accepted", "id": str(inbound_id)})


@functools.cache
def _insert_once_sql() -> str:
    """INSERT of a verified message that does nothing if the provider's event id is stored.

    The conflict target repeats the partial unique constraint `inbound_webhook_once` (its
    columns and its condition), so only that key makes a duplicate."""
    meta = InboundWebhook._meta
    names = [
        "id",
        "provider",
        "provider_event_id",
        "event_type",
        "occurred_at",
        "signature_verdict",
        "status",
        "headers",
        "body",
        "error",
        "attempts",
        "enqueued_at",
        "received_at",
    ]
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        field = meta.get_field(name)
        assert isinstance(field, Field)  # a concrete column, not a relation
        return quote(field.column)

    columns = [column(name) for name in names]
    values = ["%s::jsonb" if name == "headers" else "%s" for name in names]
    provider, event_id = column("provider"), column("provider_event_id")
    verdict = column("signature_verdict")
    return (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) "  # noqa: S608 (names from _meta)
        f"VALUES ({', '.join(values)}) "
        f"ON CONFLICT ({provider}, {event_id}) "
        f"WHERE {verdict} = 'valid' AND NOT {event_id} = '' DO NOTHING"
    )


def _publish(inbound_id: Any) -> None:
    from integrations.inbound.handoff import hand_off

    # After commit, never before: the worker must find the row. (Outside a transaction,
    # as on the request path, that is at once.)
    transaction.on_commit(lambda: hand_off(inbound_id), robust=True)


def _finish(inbound_id: Any, status: str, error: str = "") -> str:
    claims.release(
        InboundWebhook,
        inbound_id,
        status=status,
        # An error quoting the provider's text may hold a NUL, which PostgreSQL refuses: the
        # row would then stay claimed and be retried forever.
        error=text_storable(error)[:1000],
        processed_at=timezone.now(),
    )
    return status


def _park(row: InboundWebhook, error: BaseException | str) -> str:
    """Fail a message processing cannot get through, and park it for operators (who can
    reprocess it from the inbound log once the cause is fixed)."""
    message = str(error) if isinstance(error, str) else f"{type(error).__name__}: {error}"
    status = _finish(row.pk, Status.FAILED, message)
    dead_letter_record(
        source=DEAD_LETTER_SOURCE,
        reference=f"{row.provider}:{row.pk}",
        payload=row.body,
        error=error,
    )
    return status


def inbound_process(*, inbound_id: Any) -> str:
    """Process one stored message if nobody else is; returns its resulting status.

    A message is tried at most INBOUND_WEBHOOK_MAX_ATTEMPTS times (a transient error, or a
    worker that died on it, each count one); then, and on any unexpected error, it fails with
    its error and is parked as a dead letter, so one poison message never holds up the rest.
    """
    try:
        uuid.UUID(str(inbound_id))
    except ValueError as exc:
        dead_letter_record(
            source=DEAD_LETTER_SOURCE, reference=str(inbound_id), payload=inbound_id, error=exc
        )
        return "refused"
    ready = Q(signature_verdict=Verdict.VALID, status__in=[Status.RECEIVED, Status.PROCESSING])
    if not claims.claim_one(
        InboundWebhook,
        inbound_id,
        lease_seconds=LEASE_SECONDS,
        ready=ready,
        status=Status.PROCESSING,
    ):
        return "skipped"
    row = InboundWebhook.objects.get(pk=inbound_id)
    limit: int = settings.INBOUND_WEBHOOK_MAX_ATTEMPTS
    if row.attempts > limit:
        # Claimed that often without an outcome: a worker died on it each time.
        return _park(row, f"gave up after {limit} attempts; last: {row.error or 'no outcome'}")
    provider = PROVIDERS.get(row.provider)
    if provider is None:
        return _finish(row.pk, Status.FAILED, f"provider {row.provider!r} is no longer known")
    try:
        parsed = provider.parse(json.loads(row.body))
        if parsed.type not in provider.event_types:
            return _finish(row.pk, Status.IGNORED, f"unknown event type {parsed.type!r}")
        outcome = provider.handler()(row, parsed)
    except IntegrationError as exc:
        if not exc.transient:
            return _finish(row.pk, Status.FAILED, exc.message)
        if row.attempts >= limit:
            return _park(row, f"gave up after {limit} attempts: {exc.message}")
        # Back to received: the scanner publishes it again after the lease.
        claims.release(
            InboundWebhook,
            row.pk,
            status=Status.RECEIVED,
            error=text_storable(f"will retry: {exc.message}")[:1000],
            enqueued_at=timezone.now(),
        )
        return "retry"
    except (ValueError, MalformedEvent) as exc:
        return _finish(row.pk, Status.FAILED, f"unreadable: {exc}")
    except Exception as exc:  # a bug must not lose the message or kill the worker
        if is_transient_db_error(exc):
            # Not the message's fault (a deadlock, the database restarting): the task retries
            # it with backoff. Hand the claim back so the retry can take it; if the database
            # is down for that too, the claim lapses and the scanner publishes the row.
            _release_quietly(row.pk, f"will retry: database: {exc}")
            raise
        logger.exception("inbound webhook %s failed", row.pk)
        return _park(row, exc)
    return _finish(row.pk, outcome.status, outcome.note)


def _release_quietly(inbound_id: Any, error: str) -> None:
    """Hand a claim back after a transient database error. A restart refuses connections for
    about a second, so a few short tries usually get through; if none does, the claim lapses
    after its lease and the scanner publishes the row: nothing depends on this write."""
    for pause in (0.0, 0.5, 1.0, 2.0):
        time.sleep(pause)
        try:
            claims.release(InboundWebhook, inbound_id, status=Status.RECEIVED, error=error[:1000])
            return
        except Exception:  # the database again
            connection.close()  # a broken connection is replaced on the next try
    logger.warning("inbound webhook %s: claim kept until its lease lapses", inbound_id)


def inbound_due() -> list[Any]:
    """Received messages never processed (Redis was down) and dead workers' claims."""
    return claims.take_due(
        InboundWebhook,
        ready=Q(signature_verdict=Verdict.VALID, status__in=[Status.RECEIVED, Status.PROCESSING]),
        limit=500,
        republish_after_seconds=LEASE_SECONDS,
        order_by=("received_at",),
    )


def inbound_reprocess(*, actor: Actor, inbound_ids: list[Any], reason: str = "") -> int:
    """Process verified messages again (after a fix, or to re-check one). Handlers are
    idempotent: a status already applied is ignored."""
    rows = list(
        InboundWebhook.objects.filter(pk__in=inbound_ids, signature_verdict=Verdict.VALID)
        .exclude(status=Status.PROCESSING)
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        # Attempts start again: a message given up on after its limit gets its full count.
        InboundWebhook.objects.filter(pk__in=rows).update(
            status=Status.RECEIVED, locked_until=None, enqueued_at=timezone.now(), attempts=0
        )
        for row in InboundWebhook.objects.filter(pk__in=rows):
            audit_record(actor=actor, action="inbound_webhook.reprocess", target=row, reason=reason)
        for pk in rows:
            _publish(pk)
    return len(rows)
