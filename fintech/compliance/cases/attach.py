"""Alerts into cases: `case_attach` and the few helpers every case write shares.

Apart from services.py so that the modules raising alerts (sanctions screening, transaction
monitoring) can open cases in their own transaction without importing the transfer services
that case decisions use (transfer_create runs monitoring: that would be an import loop).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pghistory
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from fintech.compliance.cases.registry import case_source
from fintech.compliance.cases.selectors import case_id_of
from fintech.compliance.models import ACTIVE_CASE_STATES, Case, CaseItem, risk_level
from fintech.core.services import Actor, audit_record, event_emit
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile


def case_payload(case: Case) -> dict[str, Any]:
    return {
        "case_id": case.pk,
        "profile_id": case.profile_id,
        "state": case.state,
        "risk_score": case.risk_score,
        "risk_level": case.risk_level,
        "decision": case.decision,
    }


def _record(
    case: Case, *, actor: Actor, action: str, reason: str = "", data: dict[str, Any] | None = None
) -> None:
    audit_record(
        actor=actor,
        action=f"case.{action}",
        target=case,
        reason=reason,
        data={**case_payload(case), **(data or {})},
    )
    # profile_id=None on purpose: no case event ever reaches the customer's webhooks.
    event_emit(
        type=f"case.{action}", profile_id=None, payload={**case_payload(case), **(data or {})}
    )


def _save(case: Case, *, actor: Actor, reason: str = "") -> None:
    with pghistory.context(actor=actor.label, reason=reason, request_id=actor.request_id):
        case.save()


def _proposal_clear(case: Case) -> None:
    case.proposed_decision = ""
    case.proposed_cancel_transfers = False
    case.proposed_note = ""
    case.proposed_by = ""
    case.proposed_by_user_id = None
    case.proposed_at = None


# ---------------------------------------------------------------------------------------------
# Alerts in, cases opened


def _active_case(profile_id: int) -> Case | None:
    # FOR UPDATE: a close committing meanwhile is waited for, and PostgreSQL re-checks the
    # state after the wait, so a just-closed case is not attached to.
    return (
        Case.objects.select_for_update(of=("self",))
        .filter(profile_id=profile_id, state__in=ACTIVE_CASE_STATES)
        .first()
    )


@service_transaction
def case_attach(
    *,
    actor: Actor,
    profile: Profile | int,
    source: str,
    source_id: int,
    summary: str,
    score: int,
) -> Case:
    """Put the alert (`source`, `source_id`) in the profile's active case, opening one if it
    has none. Idempotent: an alert already in a case returns that case unchanged."""
    case_source(source)  # an unregistered kind could never be decided: refuse it now
    profile_id = profile.pk if isinstance(profile, Profile) else int(profile)
    case_id = case_id_of(source=source, source_id=source_id)
    if case_id is not None:
        return Case.objects.get(pk=case_id)
    score = max(0, min(int(score), 100))
    case = _active_case(profile_id)
    opened = case is None
    if case is None:
        try:
            # A savepoint: another alert on the same profile opening its case at this moment
            # wins the partial unique index; we then attach to the case it opened.
            with transaction.atomic(), pghistory.context(actor=actor.label):
                case = Case.objects.create(
                    profile_id=profile_id,
                    risk_score=score,
                    risk_level=risk_level(score),
                    due_at=timezone.now() + timedelta(days=settings.CASE_DUE_DAYS),
                )
        except IntegrityError:
            case = _active_case(profile_id)
            opened = False
            if case is None:  # pragma: no cover - the winner cannot have closed it already
                raise
    if opened:
        _record(case, actor=actor, action="opened")
    try:
        with transaction.atomic(), pghistory.context(actor=actor.label):
            CaseItem.objects.create(
                case=case, source=source, source_id=source_id, summary=summary[:300], score=score
            )
    except IntegrityError:
        # The same alert attached concurrently: it is in a case, which is all we promise.
        return Case.objects.get(pk=case_id_of(source=source, source_id=source_id))
    changed: dict[str, Any] = {}
    if score > case.risk_score:
        case.risk_score, case.risk_level = score, risk_level(score)
        changed["risk_raised"] = True
    if case.proposed_decision:
        # New facts: a proposal made without them must not be approved.
        changed["proposal_dropped"] = case.proposed_decision
        _proposal_clear(case)
    if changed:
        _save(case, actor=actor, reason=f"{source} {source_id} added")
    _record(
        case,
        actor=actor,
        action="item_added",
        data={"source": source, "source_id": source_id, "score": score, **changed},
    )
    return case
