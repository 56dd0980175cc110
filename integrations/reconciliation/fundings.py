"""Suggested wallet fundings: money in that matched nothing, confirmed or rejected by an
operator. Confirming credits the wallet through `fintech.wallets.services.wallet_fund`
(idempotent on the bank's reference, so a second confirm or a re-imported line credits once)
and matches the line to the funding's posting. Nothing is ever credited by the matcher."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from fintech.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from fintech.core.services import Actor, audit_record
from fintech.customers.models import Profile
from fintech.wallets.services import wallet_fund
from integrations.reconciliation.models import (
    ReconMatch,
    ReconMatchItem,
    SuggestedFunding,
)


def _locked(suggested_id: int) -> SuggestedFunding:
    # Two operators confirming one suggestion: the second waits, then sees it decided.
    try:
        return (
            SuggestedFunding.objects.select_for_update()
            .select_related("statement_line__statement__bank_account")
            .get(pk=suggested_id)
        )
    except SuggestedFunding.DoesNotExist:
        raise NotFound(f"suggested funding {suggested_id} does not exist") from None


def external_reference(suggestion: SuggestedFunding) -> str:
    line = suggestion.statement_line
    return line.bank_reference.strip() or line.end_to_end_id.strip() or f"stmtline-{line.pk}"


@transaction.atomic
def funding_confirm(
    *, actor: Actor, suggested_id: int, profile_id: int | None = None, note: str = ""
) -> int:
    """Credit the wallet for the line; returns the ledger entry id."""
    s = _locked(suggested_id)
    if s.status != SuggestedFunding.Status.SUGGESTED:
        raise Conflict(f"suggested funding {s.pk} is already {s.status}")
    profile_id = profile_id or s.profile_id
    if profile_id is None:
        raise ValidationFailed([FieldError("profile_id", "required", "whose wallet is it?")])
    profile = Profile.objects.filter(pk=profile_id).first()
    if profile is None:
        raise ValidationFailed([FieldError("profile_id", "unknown", "no such profile")])
    line = s.statement_line
    account = line.statement.bank_account
    kind, partner, _currency = account.ledger_account_code.split(":", 2)
    if kind != "funding":
        raise Conflict(f"{account} is not a funding account")
    entry_id = wallet_fund(
        actor=actor, profile=profile, currency=line.currency, amount_minor=line.amount_minor,
        external_reference=external_reference(s), partner=partner,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT p.id FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
               WHERE p.entry_id = %s AND a.code = %s""",
            [entry_id, account.ledger_account_code],
        )
        (posting_id,) = cursor.fetchone()
    match = ReconMatch.objects.create(
        bank_account=account, rule=ReconMatch.Rule.FUNDING_CONFIRMED, confidence=100,
        created_by=actor.label, note=note,
    )  # fmt: skip
    ReconMatchItem.objects.bulk_create([
        ReconMatchItem(match=match, statement_line=line, amount_minor=line.amount_minor,
                       created_at=match.created_at),
        ReconMatchItem(match=match, posting_id=posting_id, amount_minor=line.amount_minor,
                       created_at=match.created_at),
    ])  # fmt: skip
    s.status = SuggestedFunding.Status.CONFIRMED
    s.profile_id = profile.pk
    s.entry_id = entry_id
    s.decided_by = actor.label
    s.decided_at = timezone.now()
    s.note = note
    s.save()
    audit_record(
        actor=actor,
        action="reconciliation.funding_confirmed",
        target=s,
        reason=note,
        data={"entry_id": entry_id, "profile_id": profile.pk, "match_id": match.pk},
    )
    return entry_id


@transaction.atomic
def funding_reject(*, actor: Actor, suggested_id: int, note: str) -> None:
    s = _locked(suggested_id)
    if s.status != SuggestedFunding.Status.SUGGESTED:
        raise Conflict(f"suggested funding {s.pk} is already {s.status}")
    if not note.strip():
        raise ValidationFailed([FieldError("note", "required", "say why, for the audit trail")])
    s.status = SuggestedFunding.Status.REJECTED
    s.decided_by = actor.label
    s.decided_at = timezone.now()
    s.note = note
    s.save()
    audit_record(actor=actor, action="reconciliation.funding_rejected", target=s, reason=note)
