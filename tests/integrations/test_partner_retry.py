"""An operator retries a partner call the partner refused permanently: the row goes back to
pending, due now, attempts kept, its task published after commit, the reason audited."""

from __future__ import annotations

import json
import uuid

import pytest
import redis
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from fintech.core.errors import Conflict, ValidationFailed
from fintech.core.models import AuditEvent
from integrations.connectors.kyc.sandbox.handlers import kyc_check_retry
from integrations.connectors.payout.sandbox.handlers import payout_retry, payouts_due
from integrations.models import KycCheck, PayoutInstruction

pytestmark = pytest.mark.django_db


def refused(instruction: PayoutInstruction) -> PayoutInstruction:
    PayoutInstruction.objects.filter(pk=instruction.pk).update(
        status="error", attempts=3, last_error="payout-sandbox: HTTP 422: unsupported corridor"
    )
    instruction.refresh_from_db()
    return instruction


@pytest.fixture
def refused_payout(processing) -> PayoutInstruction:
    return refused(PayoutInstruction.objects.get(transfer_id=processing.pk))


@pytest.fixture
def refused_check(bob) -> KycCheck:
    return KycCheck.objects.create(
        provider="kyc-sandbox",
        profile_id=bob.pk,
        event_id=uuid.uuid4(),
        status="error",
        attempts=1,
        last_error="kyc-sandbox: HTTP 400: subject name missing",
    )


def test_a_refused_payout_is_retried_now_with_its_attempts_kept(
    refused_payout, ops_actor, redis_server, django_capture_on_commit_callbacks
) -> None:
    broker = redis.Redis.from_url(redis_server.url)
    broker.delete("celery")
    with django_capture_on_commit_callbacks(execute=True):
        payout_retry(
            actor=ops_actor, instruction_id=refused_payout.pk, reason="corridor enabled today"
        )

    row = PayoutInstruction.objects.get(pk=refused_payout.pk)
    assert (row.status, row.attempts, row.locked_until) == ("pending", 3, None)
    assert row.next_attempt_at is not None
    assert row.next_attempt_at <= timezone.now()
    [message] = [json.loads(m) for m in broker.lrange("celery", 0, -1)]
    assert message["headers"]["task"] == "integrations.payout_submit"
    assert message["headers"]["argsrepr"] == repr((str(row.pk),))
    audit = AuditEvent.objects.get(action="payoutinstruction.retry")
    assert (audit.actor_id, audit.reason, audit.target_id) == (
        ops_actor.user_id,
        "corridor enabled today",
        str(row.pk),
    )
    assert audit.data == {
        "attempts": 3,
        "previous_error": "payout-sandbox: HTTP 422: unsupported corridor",
    }
    # The scanner sees it as due too (should the published task be lost).
    PayoutInstruction.objects.filter(pk=row.pk).update(enqueued_at=None)
    assert row.pk in payouts_due()
    broker.delete("celery")


def test_only_a_refused_request_can_be_retried_and_a_reason_is_required(
    processing, refused_check, ops_actor
) -> None:
    pending = PayoutInstruction.objects.get(transfer_id=processing.pk)
    with pytest.raises(Conflict, match="this one is pending"):
        payout_retry(actor=ops_actor, instruction_id=pending.pk, reason="why not")
    with pytest.raises(ValidationFailed):
        kyc_check_retry(actor=ops_actor, check_id=refused_check.pk, reason="  ")
    assert KycCheck.objects.get(pk=refused_check.pk).status == "error"
    assert not AuditEvent.objects.filter(action__endswith=".retry").exists()


def test_the_admin_action_asks_for_a_reason_then_retries_each_row(
    client, ops, refused_check, bob
) -> None:
    done = KycCheck.objects.create(
        provider="kyc-sandbox", profile_id=bob.pk, event_id=uuid.uuid4(), status="clear"
    )
    client.force_login(ops)
    url = reverse("admin:integrations_kyccheck_changelist")
    data = {"action": "retry_at_partner", ACTION_CHECKBOX_NAME: [refused_check.pk, done.pk]}

    asked = client.post(url, data)
    assert asked.status_code == 200
    assert b"Reason" in asked.content
    assert KycCheck.objects.get(pk=refused_check.pk).status == "error"

    response = client.post(
        url, {**data, "confirm": "yes", "reason": "provider fixed the account"}, follow=True
    )
    messages = sorted(str(m) for m in get_messages(response.wsgi_request))
    assert len(messages) == 2
    assert any("queued for another try" in m for m in messages)
    assert any("not changed" in m and "this one is clear" in m for m in messages)
    assert KycCheck.objects.get(pk=refused_check.pk).status == "pending"
    assert KycCheck.objects.get(pk=done.pk).status == "clear"
    audit = AuditEvent.objects.get(action="kyccheck.retry")
    assert (audit.actor_id, audit.reason) == (ops.pk, "provider fixed the account")
