"""The sandbox simulators' delayed steps are rows with a due time (`next_step_at`), found by
the beat scanner and claimed before they run: a step whose message is lost still happens,
and two copies of a message take the step once. Real pieces: our server (live_server, which
receives the simulators' signed callbacks), a throwaway Redis, a real Celery worker."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
import redis
from django.db import connections
from django.test import Client
from django.utils import timezone

from integrations.models import InboundWebhook, SandboxKycCheck, SandboxPayout
from integrations.simulators import common
from integrations.simulators.payout import payout_advance
from integrations.tasks import scan_due
from tests.integrations.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ours(live_server, settings, redis_server) -> str:
    """Our server as the simulators call it back."""
    redis.Redis.from_url(redis_server.url).flushdb()
    settings.FINTECH_BASE_URL = live_server.url
    return live_server.url


def sandbox_post(path: str, body: dict, api_key: str) -> str:
    """Create something at a simulator, as our connector does; returns its id."""
    response = Client().post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def create_payout(base_url: str, settings) -> str:
    body = {
        "client_reference": f"TR-{uuid.uuid4().hex[:10]}",
        "amount": "100.00",
        "currency": "EUR",
        "callback_url": f"{base_url}/webhooks/payout-sandbox/",
        "beneficiary": {"name": "Lieferant GmbH"},
    }
    return sandbox_post("/sandbox/payout-partner/payouts", body, settings.PAYOUT_SANDBOX_API_KEY)


def create_check(base_url: str, settings) -> str:
    body = {
        "client_reference": str(uuid.uuid4()),
        "callback_url": f"{base_url}/webhooks/kyc-sandbox/",
        "subject": {"name": "Clear Trading Ltd"},
    }
    return sandbox_post("/sandbox/kyc-provider/checks", body, settings.KYC_SANDBOX_API_KEY)


def callbacks_for(payout_id: str) -> list[str]:
    return sorted(
        InboundWebhook.objects.filter(
            provider="payout-sandbox", provider_event_id__startswith=f"evt_{payout_id}_"
        ).values_list("provider_event_id", flat=True)
    )


@pytest.mark.slow
def test_steps_whose_messages_were_lost_still_happen(
    ours, redis_server, start_worker, settings, monkeypatch
) -> None:
    # The scanner (run here) republishes a step whose wake-up went missing after the lease.
    monkeypatch.setattr(common, "STEP_LEASE_SECONDS", 3)
    settings.PAYOUT_SANDBOX_LATENCY_SECONDS = 0
    settings.KYC_SANDBOX_LATENCY_SECONDS = 0
    payout_id = create_payout(ours, settings)
    check_id = create_check(ours, settings)
    # Both first steps were due at once and published; Redis restarts empty: both are lost.
    redis_server.stop()
    redis_server.start()
    assert SandboxPayout.objects.get(pk=payout_id).webhooks_sent == 0

    start_worker(base_url=ours)
    wait_for(
        lambda: (
            SandboxPayout.objects.get(pk=payout_id).next_step_at is None
            and SandboxKycCheck.objects.get(pk=check_id).status == "completed"
        ),
        timeout=60,
        tick=scan_due,  # beat
    )
    payout = SandboxPayout.objects.get(pk=payout_id)
    assert (payout.status, payout.webhooks_sent) == ("sent", 2)
    assert callbacks_for(payout_id) == [f"evt_{payout_id}_0", f"evt_{payout_id}_1"]
    assert InboundWebhook.objects.filter(
        provider="kyc-sandbox", provider_event_id=f"evt_{check_id}"
    ).exists()


def test_two_copies_of_a_step_take_it_once(ours, settings) -> None:
    settings.PAYOUT_SANDBOX_LATENCY_SECONDS = 60  # the scanner's business, no message
    payout_id = create_payout(ours, settings)
    assert payout_advance(payout_id=payout_id) == "skipped"  # not due yet
    SandboxPayout.objects.filter(pk=payout_id).update(next_step_at=timezone.now())  # a minute on

    # Two copies of the wake-up at once (a redelivery beside the scanner's).
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def copy() -> None:
        try:
            start.wait(10)
            outcomes.append(payout_advance(payout_id=payout_id))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=copy) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["accepted", "skipped"]
    payout = SandboxPayout.objects.get(pk=payout_id)
    assert (payout.status, payout.webhooks_sent) == ("accepted", 1)
    assert payout.next_step_at is not None
    assert payout.next_step_at > timezone.now()
    assert payout_advance(payout_id=payout_id) == "skipped"  # a late copy: the next step waits
    assert callbacks_for(payout_id) == [f"evt_{payout_id}_0"]
