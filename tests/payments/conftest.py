"""ERP payments fixtures: alice's ERP (client credentials: vendors and payment requests, no
approval scope), carol (alice's finance manager, approves through her own authorised token),
and helpers that drive the outbox as the worker would."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from fintech.api import scopes
from fintech.core.models import OutboxEvent
from fintech.customers.models import Membership, Profile
from fintech.customers.services import membership_add
from fintech.payments.models import ApprovalPolicy
from integrations.relay import event_dispatch
from tests.api.conftest import (
    Api,
    api_for,
    authorize,
    code_from,
    exchange_code,
    issue_client,
    issue_web_client,
    pkce_pair,
)
from tests.builders import BUILDER, build_user

ERP_SCOPES = [scopes.VENDORS_WRITE, scopes.PAYMENTS_REQUEST, scopes.CASH_READ]

EUR_VENDOR = {
    "erp_vendor_id": "V-1001",
    "name": "Lieferant GmbH",
    "holder_name": "Lieferant GmbH",
    "currency": "EUR",
    "country": "DE",
    "scheme": "iban",
    "details": {"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"},
}
# Another valid German account (same bank).
OTHER_IBAN = {"iban": "DE62370400440532013001", "bic": "COBADEFFXXX"}


@pytest.fixture(autouse=True)
def _fast_secret_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def erp_api(client, alice) -> Api:
    """alice's ERP: client credentials, vendors:write payments:request cash:read only."""
    return api_for(client, issue_client(alice, ERP_SCOPES))


@pytest.fixture
def carol(alice):
    """Carol, a member of alice's business who approves payments."""
    user = build_user("carol")
    membership_add(actor=BUILDER, profile=alice, user=user, role=Membership.Role.ADMIN)
    return user


def member_api(profile: Profile, user, scope: str) -> Api:
    """A token `user` authorised for a web application of `profile` (authorization code)."""
    browser = Client()
    browser.force_login(user)
    issued = issue_web_client(profile)
    verifier, challenge = pkce_pair()
    code = code_from(authorize(browser, issued, scope=scope, challenge=challenge))
    assert code
    status, token = exchange_code(Client(), issued, code, verifier)
    assert status == 200, token
    return Api(client=Client(), token=token["access_token"])


@pytest.fixture
def carol_api(alice, carol) -> Api:
    return member_api(alice, carol, f"{scopes.PAYMENTS_APPROVE} {scopes.PAYMENTS_REQUEST}")


@pytest.fixture
def no_vendor_approval(alice) -> ApprovalPolicy:
    """alice's rules: vendors need no approval; amounts of 10,000 or more do."""
    return ApprovalPolicy.objects.create(
        profile=alice,
        approve_new_or_changed_vendors=False,
        thresholds_minor={"EUR": 1_000_000, "GBP": 1_000_000},
    )


def body(response) -> dict[str, Any]:
    return json.loads(response.content)


def sync_vendor(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.post("/vendors", {**EUR_VENDOR, **overrides})
    assert response.status_code in (200, 201), response.content
    return body(response)


def request_body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "erp_payment_id": f"PAY-{uuid.uuid4().hex[:10]}",
        "erp_approval_ref": "APR-77",
        "erp_approver": "d.fischer",
        "erp_approved_at": "2026-12-01T09:00:00Z",
        "vendor_id": "V-1001",
        "amount": "1250.00",
        "currency": "EUR",
        "source_currency": "GBP",
        "due_date": (timezone.localdate() + dt.timedelta(days=5)).isoformat(),
        "bill_reference": f"BILL-{uuid.uuid4().hex[:6]}",
        "remittance_reference": "Invoice 2026-118",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def dispatch_pending() -> int:
    """Fan out every pending event, oldest first, as the worker would; returns how many."""
    done = 0
    while True:
        pending = list(
            OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING)
            .order_by("occurred_at")
            .values_list("pk", flat=True)
        )
        if not pending:
            return done
        for event_id in pending:
            event_dispatch(event_id=str(event_id))
            done += 1


def events_of(request_id: int) -> list[str]:
    return list(
        OutboxEvent.objects.filter(type__startswith="payment_request.", payload__id=request_id)
        .order_by("occurred_at")
        .values_list("type", flat=True)
    )
