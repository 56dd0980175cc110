"""The sandbox's webhooks through the real machinery: published after commit by its stable
task name, sent by a real Celery worker (a subprocess), received signed."""

from __future__ import annotations

import pytest

from integrations.models import XeroSandboxWebhook
from tests.integrations.conftest import wait_for
from tests.simulators.test_xero_sandbox_api import contact_of

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_worker_sends_the_webhook_of_a_users_change(
    xero, xero_receiver, start_worker, live_server
) -> None:
    start_worker(base_url=live_server.url)
    alice = contact_of(xero)
    archived = xero.control(f"/objects/contact/{alice['ContactID']}", method="DELETE")
    assert archived.status_code == 200
    wait_for(lambda: xero_receiver.events(), timeout=60)  # a bound
    (event,) = xero_receiver.events()[0]["events"]
    assert (event["eventCategory"], event["resourceId"]) == ("CONTACT", alice["ContactID"])
    hook = XeroSandboxWebhook.objects.get()
    assert (hook.attempts, hook.last_status) == (1, "200")
    assert hook.delivered_at is not None
