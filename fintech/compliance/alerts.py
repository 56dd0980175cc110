"""What every alert kind shares (sanctions screening hits, transaction monitoring alerts): a
row that is `open` until a compliance officer, or the decision of the case it is in, marks it
`cleared` (the hold lifts) or `confirmed` (the hold stays), once.

`alert_decide` is that write; `case_decisions` the case source's `release` and `confirm`
callbacks (fintech.compliance.cases.registry) built on a kind's own clear and confirm
services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pghistory
from django.db import models
from django.utils import timezone

from fintech.core.errors import Conflict, NotFound, TransitionNotAllowed
from fintech.core.safe_input import text_checked
from fintech.core.services import Actor, audit_record, event_emit
from fintech.transfers.models import Transfer

OPEN, CLEARED, CONFIRMED = "open", "cleared", "confirmed"  # each kind's Status values
MAX_NOTE_LENGTH = 2000
# An alert's hold stops a transfer's submit: these are the states in which it keeps the money
# from paying out (and a reported case may still cancel it).
HELD_TRANSFER_STATES = (Transfer.State.CREATED, Transfer.State.FUNDED)


A = TypeVar("A", bound=models.Model)


def alert_decide(
    *,
    actor: Actor,
    model: type[A],
    alert: A | int,
    note: str,
    status: str,
    noun: str,
    event_prefix: str,
    payload: Callable[[A], dict[str, Any]],
    audit_data: Callable[[A], dict[str, Any]] | None = None,
) -> A:
    """Mark the open `alert` (a `model` row or its id) `status` with the officer's `note`:
    audited as `<event_prefix>_<status>` with `payload` (and `audit_data`), and emitted with
    no profile (no tipping off: never to the customer's webhooks). Runs in the caller's
    transaction. NotFound, or TransitionNotAllowed when it was already decided."""
    note = text_checked(note, field="note", max_length=MAX_NOTE_LENGTH)
    pk = alert.pk if isinstance(alert, model) else alert
    # Why the lock: two officers deciding the same alert at once; the second waits, then sees
    # the first's decision and is refused instead of overwriting it.
    locked: Any = model._default_manager.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise NotFound(f"{noun} {pk} not found")
    if locked.status != OPEN:
        raise TransitionNotAllowed(
            f"Cannot mark {noun} {locked.pk} {status}: it is {locked.status}"
        )
    before = locked.status
    locked.status, locked.note = status, note
    locked.decided_by, locked.decided_at = actor.label, timezone.now()
    with pghistory.context(actor=actor.label, reason=note, request_id=actor.request_id):
        locked.save(update_fields=["status", "note", "decided_by", "decided_at"])
    audit_record(
        actor=actor,
        action=f"{event_prefix}_{status}",
        target=locked,
        reason=note,
        data={**payload(locked), "from": before, **(audit_data(locked) if audit_data else {})},
    )
    event_emit(type=f"{event_prefix}_{status}", profile_id=None, payload=payload(locked))
    return locked


Decide = Callable[[Actor, int, str], Any]


def case_decisions(
    *, noun: str, status_of: Callable[[int], str], clear: Decide, confirm: Decide
) -> tuple[Decide, Decide]:
    """A case source's `release` and `confirm` for an alert kind, from its own status reader
    and clear / confirm services (each called as (actor, alert_id, note)).

    A case closed as cleared clears the alert (its hold lifts unless another alert holds the
    same thing); closed as reported, confirms it (the hold stays). An alert already decided
    the way the case decides is left as it is; one confirmed outside the case is not released
    by it (Conflict), and one cleared outside it is not held again."""

    def release(actor: Actor, alert_id: int, note: str) -> None:
        status = status_of(alert_id)
        if status == OPEN:
            clear(actor, alert_id, note)
        elif status == CONFIRMED:
            raise Conflict(f"{noun} {alert_id} was confirmed outside this case: it stays held")

    def confirmed(actor: Actor, alert_id: int, note: str) -> None:
        if status_of(alert_id) == OPEN:
            confirm(actor, alert_id, note)

    return release, confirmed
