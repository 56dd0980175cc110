"""KYC provider (sandbox) handlers.

- `compliance.submitted` (relayed) -> one KycCheck per submission -> `kyc_check_create`
  creates the check at the provider (transient errors retried by `next_attempt_at`).
- Their `check.completed` webhook -> clear: `compliance_verify` (emits business.verified or
  customer.verified); consider: `compliance_flag_review` (emits compliance.review_required).
  Results older than the last applied are ignored.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fintech.compliance.selectors import compliance_status_for_profile
from fintech.compliance.services import compliance_flag_review, compliance_verify
from fintech.core.errors import DomainError, TransitionNotAllowed
from fintech.core.models import OutboxEvent
from fintech.core.services import Actor
from fintech.customers.models import Profile
from integrations import claims
from integrations.connectors.kyc.sandbox import mapping
from integrations.connectors.kyc.sandbox.client import PROVIDER, KycSandboxClient
from integrations.connectors.retry import partner_request_retry
from integrations.errors import PermanentError, TransientError
from integrations.inbound.providers import Outcome, ParsedEvent
from integrations.models import InboundWebhook, KycCheck

ACTOR = Actor.system("kyc-sandbox")
# The claim: above the client's HTTP timeout (10 s), so a killed worker's row is taken over
# by the scanner within about half a minute.
LEASE_SECONDS = 30
CREATE_BACKOFF = (10, 60, 300, 900, 3600)
# Its task (tasks.py), published by name: tasks import this module, not the other way round.
CREATE_TASK = "integrations.kyc_check_create"

Status = KycCheck.Status


def on_compliance_submitted(event: OutboxEvent) -> None:
    now = timezone.now()
    check, created = KycCheck.objects.get_or_create(
        provider=PROVIDER,
        event_id=event.pk,
        defaults={
            "profile_id": int(event.payload["profile_id"]),
            "next_attempt_at": now,
            "enqueued_at": now,
        },
    )
    if created:
        claims.enqueue_on_commit(CREATE_TASK, KycCheck, check.pk)


def kyc_check_create(*, check_id: int) -> str:
    now = timezone.now()
    ready = Q(status=Status.PENDING, next_attempt_at__lte=now)
    if not claims.claim_one(KycCheck, check_id, lease_seconds=LEASE_SECONDS, ready=ready):
        return "skipped"
    check = KycCheck.objects.get(pk=check_id)
    profile = Profile.objects.get(pk=check.profile_id)
    body = mapping.check_request(check=check, subject_name=profile.legal_name, kind=profile.kind)
    try:
        answer = KycSandboxClient.from_settings().check_create(body)
    except TransientError as exc:
        step = CREATE_BACKOFF[min(check.attempts, len(CREATE_BACKOFF)) - 1]
        claims.release(
            KycCheck,
            check.pk,
            last_error=exc.message[:1000],
            next_attempt_at=timezone.now() + timedelta(seconds=step),
        )
        return "retry"
    except PermanentError as exc:
        claims.release(KycCheck, check.pk, status=Status.ERROR, last_error=exc.message[:1000])
        return "error"
    KycCheck.objects.filter(pk=check.pk, status=Status.PENDING).update(status=Status.CREATED)
    claims.release(KycCheck, check.pk, external_id=str(answer.get("id", ""))[:100], last_error="")
    return "created"


def kyc_check_retry(*, actor: Actor, check_id: int, reason: str) -> KycCheck:
    """An operator's retry of a check the provider refused (status `error`)."""
    row = partner_request_retry(
        actor=actor, model=KycCheck, pk=check_id, reason=reason, task=CREATE_TASK
    )
    assert isinstance(row, KycCheck)
    return row


def kyc_checks_due() -> list[int]:
    return claims.take_due(
        KycCheck,
        ready=Q(status=Status.PENDING, next_attempt_at__lte=timezone.now()),
        limit=200,
        republish_after_seconds=LEASE_SECONDS,
        due_field="next_attempt_at",  # a retry goes out when due, not a lease later
    )


def _apply(result: str, profile_id: int, data: dict[str, object]) -> str:
    try:
        status = compliance_status_for_profile(profile=profile_id)
        if result == "clear":
            compliance_verify(actor=ACTOR, status=status.pk, reason="KYC provider result: clear")
            return "compliance verified"
        compliance_flag_review(actor=ACTOR, status=status.pk, reason=mapping.review_reason(data))
        return "compliance review required"
    except TransitionNotAllowed as exc:
        return f"compliance unchanged: {exc.message}"
    except DomainError as exc:
        raise PermanentError(f"{exc.code}: {exc.message}") from exc


def on_provider_webhook(row: InboundWebhook, event: ParsedEvent) -> Outcome:
    reference = str(event.data.get("client_reference", ""))
    result = str(event.data.get("result", ""))
    if result not in mapping.RESULTS:
        raise PermanentError(f"unknown result {result!r}")
    with transaction.atomic():
        # Lock the check: a duplicate completion racing the first waits, then sees it applied.
        check = (
            KycCheck.objects.select_for_update()
            .filter(provider=PROVIDER, event_id__in=_uuid_or_none(reference))
            .first()
        )
        if check is None:
            raise PermanentError(f"no KYC check with reference {reference!r}")
        last = check.last_status_at
        if last is not None and event.occurred_at <= last:
            return Outcome(
                "ignored",
                f"stale: result at {event.occurred_at.isoformat()} is not newer than the one "
                f"applied at {last.isoformat()}",
            )
        note = _apply(result, check.profile_id, event.data)
        check.status = mapping.RESULTS[result]
        check.last_status_at = event.occurred_at
        check.save(update_fields=["status", "last_status_at", "updated_at"])
    return Outcome("processed", note)


def _uuid_or_none(value: str) -> list[str]:
    import uuid

    try:
        return [str(uuid.UUID(value))]
    except ValueError:
        return []
