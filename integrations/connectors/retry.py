"""Operators' retry of a partner call the partner refused permanently.

A permanent refusal (a 4xx: bad data, an account not set up) parks the request in `error`
for an operator. Once the cause is fixed (at the partner, or in our data), the operator asks
for one more try: the row goes back to pending, due now, its attempts kept (the backoff goes
on from there), and its task is published after commit. Audited with the operator's reason.
"""

from __future__ import annotations

from django.utils import timezone

from fintech.core.errors import Conflict, FieldError, ValidationFailed
from fintech.core.services import Actor, audit_record
from fintech.core.transactions import service_transaction
from integrations import claims
from integrations.models import PartnerRequest

REFUSED = "error"


@service_transaction
def partner_request_retry(
    *, actor: Actor, model: type[PartnerRequest], pk: int, reason: str, task: str
) -> PartnerRequest:
    reason = reason.strip()
    if not reason:
        raise ValidationFailed([FieldError("reason", "required", "say why it can succeed now")])
    # Row lock: two operators retrying at once, or a retry racing a late partner webhook,
    # apply one after the other; the second sees the row is no longer refused.
    row = model._default_manager.select_for_update().get(pk=pk)
    status = getattr(row, "status", "")
    if status != REFUSED:
        raise Conflict(f"only a request the partner refused can be retried; this one is {status}")
    previous_error = row.last_error
    now = timezone.now()
    model._default_manager.filter(pk=pk).update(
        status="pending", next_attempt_at=now, locked_until=None, enqueued_at=now, updated_at=now
    )
    row.refresh_from_db()
    audit_record(
        actor=actor,
        action=f"{model._meta.model_name}.retry",
        target=row,
        reason=reason,
        data={"attempts": row.attempts, "previous_error": previous_error},
    )
    claims.enqueue_on_commit(task, model, row.pk)
    return row
