"""Approvals inside the platform: a second person among the customer's own members.

- Who may approve: a user who is a member (owner, admin or member; not a viewer) of the
  request's profile, through a token they authorised (an application alone cannot: it has no
  person) or an operator on the customer's behalf is NOT offered: four eyes are the
  customer's own.
- The maker (the user or application that sent the request) cannot approve it.
- The ERP's approval reference and approver are recorded on the request; they never replace
  this approval where the rules ask for it.
- An unapproved request expires at `approval_due_at`: the beat scan `payment_request_expiry`
  (integrations/payments) finds due rows; no delayed broker message is involved.
Refused attempts, rejections and expiries are counted in ApprovalFailure (the operators'
metric "ERP approval failures" by profile and reason).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from fintech.core.errors import DomainError, FieldError, NotFound, TransitionNotAllowed
from fintech.core.services import Actor
from fintech.core.transactions import service_transaction
from fintech.customers.models import Membership, Profile
from fintech.payments.models import Approval, ApprovalFailure, PaymentRequest
from fintech.payments.services.lifecycle import move
from fintech.payments.services.requests import execute
from fintech.payments.services.vendors import vendor_mark_approved

APPROVER_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.MEMBER)


class ApprovalRefused(DomainError):
    code = "approval_refused"
    status = 403
    title = "You may not approve this payment request"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, fields=[FieldError("approver", reason, message)])
        self.reason = reason


def _lock(profile: Profile, request_id: int | str) -> PaymentRequest:
    try:
        # Why the lock: two approvers clicking at once; the second waits, then finds the
        # request no longer awaiting approval and is refused (409), nothing done twice.
        return (
            PaymentRequest.objects.select_for_update(of=("self",))
            .select_related("vendor", "beneficiary", "profile")
            .get(pk=int(request_id), profile=profile)
        )
    except (PaymentRequest.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(f"payment request {request_id} not found") from exc


def _check_approver(request: PaymentRequest, actor: Actor) -> None:
    if actor.user_id is None:
        raise ApprovalRefused(
            "an approval needs a person: use a token a member of the business authorised",
            reason="approver_not_a_person",
        )
    if not Membership.objects.filter(
        profile_id=request.profile_id, user_id=actor.user_id, role__in=APPROVER_ROLES
    ).exists():
        raise ApprovalRefused(
            "only the business's own members may approve", reason="approver_not_member"
        )
    if actor.user_id == request.maker_user_id or actor.label == request.maker_label:
        raise ApprovalRefused(
            "the maker of a payment request cannot approve it", reason="maker_cannot_approve"
        )


@service_transaction
def payment_request_approve(
    *, actor: Actor, profile: Profile, request_id: int | str, note: str = ""
) -> PaymentRequest:
    request = _lock(profile, request_id)
    if request.state != PaymentRequest.State.AWAITING_APPROVAL:
        raise TransitionNotAllowed(
            f"payment request {request.erp_payment_id} is {request.state}, not awaiting approval"
        )
    _check_approver(request, actor)
    Approval.objects.create(
        request=request,
        decision=Approval.Decision.APPROVED,
        approver_label=actor.label,
        approver_user_id=actor.user_id,
        reason=note,
    )
    if request.vendor is not None and request.vendor.needs_approval:
        vendor_mark_approved(actor=actor, vendor=request.vendor)
    # The transition to quoted happens in execute (awaiting_approval -> quoted).
    execute(request, actor=actor)
    return request


@service_transaction
def payment_request_reject(
    *, actor: Actor, profile: Profile, request_id: int | str, reason: str
) -> PaymentRequest:
    request = _lock(profile, request_id)
    if request.state != PaymentRequest.State.AWAITING_APPROVAL:
        raise TransitionNotAllowed(
            f"payment request {request.erp_payment_id} is {request.state}, not awaiting approval"
        )
    _check_approver(request, actor)
    reason = (reason or "").strip()[:2000] or "rejected by the approver"
    Approval.objects.create(
        request=request,
        decision=Approval.Decision.REJECTED,
        approver_label=actor.label,
        approver_user_id=actor.user_id,
        reason=reason,
    )
    move(
        request,
        actor=actor,
        action="reject",
        reason=reason,
        update={"reasons": [FieldError("approval", "rejected_by_approver", reason).as_dict()]},
    )
    ApprovalFailure.objects.create(
        profile_id=request.profile_id, reason="rejected_by_approver", request=request
    )
    return request


def approval_failure_record(*, profile: Profile, request_id: int | str, reason: str) -> None:
    """A refused approval attempt, in its own transaction (the attempt's rolled back)."""
    request = PaymentRequest.objects.filter(profile=profile, pk=int(request_id)).first()
    with transaction.atomic():
        ApprovalFailure.objects.create(profile=profile, reason=reason[:60], request=request)


def payment_requests_expire_due(*, now: object = None, limit: int = 500) -> int:
    """Expire requests whose approval is due: awaiting_approval past approval_due_at.

    Why SKIP LOCKED and one row per transaction: an approver may be approving one right now;
    the scan skips it (the approval wins or the next scan expires it) and never waits."""
    now = now or timezone.now()
    actor = Actor.system("payment-request-expiry")
    expired = 0
    ids = list(
        PaymentRequest.objects.filter(
            state=PaymentRequest.State.AWAITING_APPROVAL, approval_due_at__lte=now
        )
        .order_by("approval_due_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            request = (
                PaymentRequest.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=PaymentRequest.State.AWAITING_APPROVAL)
                .first()
            )
            if request is None:
                continue
            move(
                request,
                actor=actor,
                action="expire",
                reason="not approved in time",
                update={
                    "reasons": [
                        FieldError("approval", "approval_expired", "not approved in time").as_dict()
                    ]
                },
            )
            ApprovalFailure.objects.create(
                profile_id=request.profile_id, reason="approval_expired", request=request
            )
            expired += 1
    return expired
