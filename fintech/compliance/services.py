"""Writes for compliance: each one is a guarded FSM transition, audited, with its event.

Every service takes the ComplianceStatus (or its id), locks the row, checks the transition
with `can_proceed` (TransitionNotAllowed, 409, nothing changed, when it is not allowed), runs
it, saves, writes the audit row and emits the event, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pghistory
from django_fsm import can_proceed

from fintech.compliance.models import ComplianceStatus
from fintech.core.errors import TransitionNotAllowed
from fintech.core.safe_input import text_checked
from fintech.core.services import Actor, audit_record, event_emit
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile

MAX_REASON_LENGTH = 2000


def _lock(status: ComplianceStatus | int) -> ComplianceStatus:
    # Why the lock: two operators (or an operator and a KYC webhook) may act on the same
    # profile at once, e.g. verify and reject. FOR UPDATE makes the second wait until the
    # first commits and then re-read the new state, so it gets a clean 409 from `can_proceed`
    # instead of both deciding from the same stale "pending". It also serialises changes to
    # the review flag, which the FSM's optimistic state check alone would not protect.
    pk = status.pk if isinstance(status, ComplianceStatus) else status
    return ComplianceStatus.objects.select_for_update().select_related("profile").get(pk=pk)


def _clean_reason(reason: str, *, required: bool) -> str:
    return text_checked(
        reason, field="reason", max_length=MAX_REASON_LENGTH, required=required,
        missing="a reason is required",
    )  # fmt: skip


def _payload(status: ComplianceStatus) -> dict[str, Any]:
    return {
        "profile_id": status.profile_id,
        "kind": status.profile.kind,
        "state": status.state,
        "review_required": status.review_required,
    }


def _apply(
    *,
    actor: Actor,
    status: ComplianceStatus | int,
    name: str,
    reason: str,
    call: Callable[[ComplianceStatus], Any],
    events: Callable[[ComplianceStatus], list[str]],
) -> ComplianceStatus:
    locked = _lock(status)
    method = getattr(locked, name)
    if not can_proceed(method):
        raise TransitionNotAllowed(
            f"Cannot {name.replace('_', ' ')} {locked.profile}: compliance is {locked.state}"
            + (" and under review" if locked.review_required else ""),
        )
    source = locked.state
    with pghistory.context(actor=actor.label, reason=reason, request_id=actor.request_id):
        call(locked)
        locked.save()
    audit_record(
        actor=actor,
        action=f"compliance.{name}",
        target=locked,
        reason=reason,
        data={"profile_id": locked.profile_id, "source": source, "target": locked.state},
    )
    for event_type in events(locked):
        event_emit(type=event_type, profile_id=locked.profile_id, payload=_payload(locked))
    return locked


@service_transaction
def compliance_submit(
    *, actor: Actor, status: ComplianceStatus | int, reason: str = ""
) -> ComplianceStatus:
    """unverified -> pending: the customer's documents are in and await a decision."""
    return _apply(
        actor=actor,
        status=status,
        name="submit",
        reason=_clean_reason(reason, required=False),
        call=lambda s: s.submit(),
        events=lambda s: ["compliance.submitted"],
    )


@service_transaction
def compliance_resubmit(
    *, actor: Actor, status: ComplianceStatus | int, reason: str
) -> ComplianceStatus:
    """rejected -> pending: new documents after a rejection; the reason says what changed."""
    return _apply(
        actor=actor,
        status=status,
        name="resubmit",
        reason=_clean_reason(reason, required=True),
        call=lambda s: s.resubmit(),
        events=lambda s: ["compliance.submitted"],
    )


@service_transaction
def compliance_verify(
    *, actor: Actor, status: ComplianceStatus | int, reason: str = ""
) -> ComplianceStatus:
    """pending -> verified (refused while a review is open)."""

    def events(s: ComplianceStatus) -> list[str]:
        if s.profile.kind == Profile.Kind.BUSINESS:
            return ["business.verified"]
        return ["customer.verified"]

    return _apply(
        actor=actor,
        status=status,
        name="verify",
        reason=_clean_reason(reason, required=False),
        call=lambda s: s.verify(),
        events=events,
    )


@service_transaction
def compliance_reject(
    *, actor: Actor, status: ComplianceStatus | int, reason: str
) -> ComplianceStatus:
    """pending -> rejected; the reason is required (the customer and auditors will ask)."""
    return _apply(
        actor=actor,
        status=status,
        name="reject",
        reason=_clean_reason(reason, required=True),
        call=lambda s: s.reject(),
        events=lambda s: ["compliance.rejected"],
    )


@service_transaction
def compliance_flag_review(
    *, actor: Actor, status: ComplianceStatus | int, reason: str
) -> ComplianceStatus:
    """Raise the review-required flag with its reason, in any state."""
    cleaned = _clean_reason(reason, required=True)
    return _apply(
        actor=actor,
        status=status,
        name="flag_review",
        reason=cleaned,
        call=lambda s: s.flag_review(cleaned),
        events=lambda s: ["compliance.review_required"],
    )


@service_transaction
def compliance_clear_review(
    *, actor: Actor, status: ComplianceStatus | int, reason: str = ""
) -> ComplianceStatus:
    """Lower the review-required flag; the reason records what the review concluded."""
    return _apply(
        actor=actor,
        status=status,
        name="clear_review",
        reason=_clean_reason(reason, required=False),
        call=lambda s: s.clear_review(),
        events=lambda s: ["compliance.review_cleared"],
    )
