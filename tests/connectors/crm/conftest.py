"""The HubSpot connector against the CRM sandox over real HTTP (our live server serves it),
jobs run by the engine in the test process (`drain`), events dispatched by the relay's
function (`dispatch`). The end-to-end test with a real worker is tests/integrations/."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.utils import timezone

from fintech.core.models import OutboxEvent
from fintech.core.services import Actor
from integrations.models import CrmSandboxObject, CrmSandboxRequest
from integrations.relay import event_dispatch
from integrations.simulators.crm.validation import model_errors
from integrations.sync import services
from integrations.sync.demo import connect_by_redirect
from integrations.sync.models import Connection, SyncJob

OPS = Actor.system("test-crm")
State = SyncJob.State


def point_at(settings: Any, url: str) -> None:
    sandbox = f"{url}/sandbox/crm"
    settings.FINTECH_BASE_URL = url
    settings.CRM_SANDBOX_BASE_URL = sandbox
    settings.HUBSPOT_API_URL = sandbox
    settings.HUBSPOT_AUTHORIZE_URL = f"{sandbox}/oauth/authorize"
    settings.HUBSPOT_TOKEN_URL = f"{sandbox}/oauth/v1/token"
    settings.CRM_SANDBOX_WEBHOOK_URL = f"{url}/webhooks/hubspot/"
    settings.KYC_SANDBOX_BASE_URL = f"{url}/sandbox/kyc-provider"
    settings.PAYOUT_SANDBOX_BASE_URL = f"{url}/sandbox/payout-partner"
    settings.KYC_SANDBOX_LATENCY_SECONDS = 0
    settings.PAYOUT_SANDBOX_LATENCY_SECONDS = 0


@pytest.fixture
def ours(live_server, settings, monkeypatch) -> str:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    point_at(settings, live_server.url)
    return str(live_server.url)


def control(path: str, body: dict | None = None, method: str = "POST") -> Any:
    answer = requests.request(
        method,
        f"{django_settings.CRM_SANDBOX_BASE_URL}/control/{path}",
        json=body,
        headers={"Authorization": f"Bearer {django_settings.CRM_SANDBOX_CLIENT_SECRET}"},
        timeout=10,
    )
    assert answer.status_code < 300, answer.text
    return answer.json()


@pytest.fixture
def crm(ours) -> Connection:
    """The platform's CRM connected to the sandbox by the OAuth dance (properties made)."""
    connection, url = services.connection_start(actor=OPS, provider="hubspot", profile_id=None)
    connection = connect_by_redirect(connection=connection, authorization_url=url)
    assert connection.status == Connection.Status.ACTIVE
    assert connection.kind == Connection.Kind.CRM
    assert connection.calls_window_seconds == 10
    return connection


def dispatch() -> None:
    for event_id in OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING).values_list(
        "pk", flat=True
    ):
        event_dispatch(event_id=str(event_id))


def drain(*, rounds: int = 20) -> None:
    """Run every due job until none is left (dependents become due as their prerequisite
    is synced)."""
    dispatch()
    for _ in range(rounds):
        due = list(
            SyncJob.objects.filter(
                state__in=[State.PENDING, State.RETRY_SCHEDULED],
                next_attempt_at__lte=timezone.now(),
            ).values_list("pk", flat=True)
        )
        if not due:
            return
        for job_id in due:
            services.job_run(job_id=job_id)


def objects(object_type: str) -> list[CrmSandboxObject]:
    return list(CrmSandboxObject.objects.filter(object_type=object_type, archived=False))


_MODELS = [
    (r"^POST /sandbox/crm/crm/v3/objects/(\w+)/search$", "PublicObjectSearchRequest"),
    (r"^POST /sandbox/crm/crm/v3/objects/(\w+)$", "SimplePublicObjectInputForCreate"),
    (r"^PATCH /sandbox/crm/crm/v3/objects/(\w+)/\d+$", "SimplePublicObjectInput"),
    (r"^POST /sandbox/crm/crm/v3/(properties)/\w+$", "PropertyCreate"),
]


def sent_bodies() -> list[tuple[str, Any]]:
    """Every body the connector sent, each checked with hubspot-api-client's model."""
    out = []
    for row in CrmSandboxRequest.objects.exclude(body="").order_by("pk"):
        line = f"{row.method} {row.path}"
        body = json.loads(row.body)
        for pattern, model in _MODELS:
            match = re.match(pattern, line)
            if match:
                assert model_errors(match.group(1), model, body) == [], (line, body)
                break
        else:
            raise AssertionError(f"a body on {line} no model covers")
        out.append((line, body))
    return out
