"""Dead letters: where a batch or drain parks a row it cannot process, so the rest flow.

Every drain (the API request log, inbound webhook processing, webhook deliveries, the outbox
relay, sync jobs) follows one rule: a row that fails for a reason retrying will not fix is
written here with its error, the drain goes on with the others, and an error is logged with
the stable event name `dead_letter.recorded` (alerting keys on it). Operators see the parked
rows in the admin and mark them resolved with a note.

Lives in fintech.core so every layer can use it (fintech never imports integrations).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from fintech.core.models import DeadLetter
from fintech.core.services import Actor, audit_record

logger = logging.getLogger(__name__)

# Stable event names: alerting and log searches key on them.
RECORDED = "dead_letter.recorded"
RECORD_FAILED = "dead_letter.record_failed"

PAYLOAD_CHARS = 100_000
MESSAGE_CHARS = 10_000


def text_storable(value: str) -> str:
    """`value` without NUL characters (PostgreSQL refuses them in text): each is written as
    the four characters `\\x00`, so nothing is silently lost."""
    return value.replace("\x00", "\\x00")


def _as_text(payload: Any) -> str:
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", "backslashreplace")
    if not isinstance(payload, str):
        try:
            payload = json.dumps(payload, default=str, sort_keys=True)
        except (TypeError, ValueError):
            payload = repr(payload)
    return text_storable(payload)[:PAYLOAD_CHARS]


def dead_letter_record(
    *, source: str, reference: str, payload: Any, error: BaseException | str
) -> DeadLetter | None:
    """Park one unprocessable row and alert. Never raises: it is the drain's last resort.

    Commits on its own (a savepoint when the caller is inside a transaction), so call it
    after the failed work has been rolled back; returns None if even this write failed
    (the row is then in the log, at error level, with RECORD_FAILED).
    """
    if isinstance(error, BaseException):
        error_class = f"{type(error).__module__}.{type(error).__qualname__}"
        message = str(error)
    else:
        error_class, message = "error", error
    fields = {
        "source": source[:100],
        "reference": text_storable(str(reference))[:200],
        "error_class": error_class[:200],
        "error_message": text_storable(message)[:MESSAGE_CHARS],
    }
    try:
        with transaction.atomic():
            letter = DeadLetter.objects.create(payload=_as_text(payload), **fields)
    except Exception:
        logger.exception(
            "%s: could not park %s %s (%s: %s)",
            RECORD_FAILED,
            source,
            fields["reference"],
            error_class,
            fields["error_message"][:500],
            extra={"event": RECORD_FAILED, **fields},
        )
        return None
    logger.error(
        "%s: %s %s parked (%s: %s)",
        RECORDED,
        source,
        fields["reference"],
        error_class,
        fields["error_message"][:500],
        extra={"event": RECORDED, "dead_letter_id": letter.pk, **fields},
    )
    return letter


def dead_letter_resolve(*, actor: Actor, dead_letter_ids: Iterable[int], note: str) -> int:
    """Mark open dead letters resolved with the operator's note; returns how many."""
    now = timezone.now()
    resolved = 0
    with transaction.atomic():
        # Row locks: two operators resolving the same letter record one resolution.
        for letter in DeadLetter.objects.select_for_update().filter(
            pk__in=list(dead_letter_ids), resolved_at__isnull=True
        ):
            letter.resolved_at = now
            letter.resolved_by_id = actor.user_id
            letter.resolution_note = note
            letter.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
            audit_record(actor=actor, action="dead_letter.resolve", target=letter, reason=note)
            resolved += 1
    return resolved
