"""Every endpoint x every scope: only the declared scope passes. Every endpoint x another
business's token: its ids are 404 and its data never shows."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from fintech.api import scopes
from fintech.api.permissions import declared_scopes
from fintech.api.scopes import ALL_SCOPES
from fintech.beneficiaries.models import Beneficiary
from fintech.core.services import Actor
from fintech.disputes.services import dispute_open
from fintech.payments.models import ApprovalPolicy
from fintech.payments.services.requests import payment_batch_create
from fintech.payments.services.vendors import vendor_upsert
from fintech.payments.validation import PaymentRequestInput
from fintech.quotes.services import quote_create
from fintech.transfers.models import Transfer
from fintech.transfers.services import (
    transfer_complete,
    transfer_create,
    transfer_fund,
    transfer_submit,
)
from tests.api.conftest import api_for, fund_wallet, issue_client
from tests.builders import build_beneficiary, build_profile, build_wallet_funding

pytestmark = pytest.mark.django_db

ENDPOINTS: list[tuple[str, str, str]] = [
    ("GET", "/profile", scopes.PROFILES_READ),
    ("GET", "/balances", scopes.BALANCES_READ),
    ("GET", "/rates?source=GBP&target=EUR", scopes.RATES_READ),
    ("POST", "/quotes", scopes.QUOTES_WRITE),
    ("GET", "/quotes/{quote}", scopes.QUOTES_WRITE),
    ("POST", "/beneficiaries", scopes.BENEFICIARIES_WRITE),
    ("GET", "/beneficiaries", scopes.BENEFICIARIES_READ),
    ("GET", "/beneficiaries/{beneficiary}", scopes.BENEFICIARIES_READ),
    ("POST", "/beneficiaries/{beneficiary}/deactivate", scopes.BENEFICIARIES_WRITE),
    ("POST", "/transfers", scopes.TRANSFERS_WRITE),
    ("GET", "/transfers", scopes.TRANSFERS_READ),
    ("GET", "/transfers/{transfer}", scopes.TRANSFERS_READ),
    ("POST", "/transfers/{transfer}/fund", scopes.TRANSFERS_WRITE),
    ("POST", "/transfers/{transfer}/cancel", scopes.TRANSFERS_WRITE),
    ("GET", "/ledger/statement?currency=GBP", scopes.LEDGER_READ),
    ("GET", "/compliance", scopes.COMPLIANCE_READ),
    ("POST", "/sandbox/transfers/{transfer}/simulate", scopes.TRANSFERS_WRITE),
    ("POST", "/crm/account-manager", scopes.CRM_WRITE),
    # ERP payments (fintech/api/views/payments.py)
    ("GET", "/vendors", scopes.VENDORS_WRITE),
    ("POST", "/vendors", scopes.VENDORS_WRITE),
    ("POST", "/vendors/bulk", scopes.VENDORS_WRITE),
    ("GET", "/vendors/{vendor}", scopes.VENDORS_WRITE),
    ("POST", "/vendors/{vendor}/deactivate", scopes.VENDORS_WRITE),
    ("GET", "/payment-requests", scopes.PAYMENTS_REQUEST),
    ("POST", "/payment-requests", scopes.PAYMENTS_REQUEST),
    ("GET", "/payment-requests/export?date_from=2026-01-01&date_to=2026-01-02",
     scopes.PAYMENTS_REQUEST),
    ("GET", "/payment-requests/{request}", scopes.PAYMENTS_REQUEST),
    ("POST", "/payment-requests/{request}/approve", scopes.PAYMENTS_APPROVE),
    ("POST", "/payment-requests/{request}/reject", scopes.PAYMENTS_APPROVE),
    ("POST", "/payment-request-batches", scopes.PAYMENTS_REQUEST),
    ("POST", "/payment-request-batches/files", scopes.PAYMENTS_REQUEST),
    ("GET", "/payment-request-batches/{batch}", scopes.PAYMENTS_REQUEST),
    ("GET", "/payment-request-batches/{batch}/pain002", scopes.PAYMENTS_REQUEST),
    ("GET", "/cash-position", scopes.CASH_READ),
    # Disputes (fintech/api/views/disputes.py): one scope to open and follow them
    ("GET", "/disputes", scopes.DISPUTES_WRITE),
    ("POST", "/disputes", scopes.DISPUTES_WRITE),
    ("GET", "/disputes/{dispute}", scopes.DISPUTES_WRITE),
    ("POST", "/disputes/{dispute}/withdraw", scopes.DISPUTES_WRITE),
]  # fmt: skip

ACTOR = Actor.system("test-data")


@dataclass
class Business:
    quote: str
    beneficiary: int
    transfer: int
    vendor: str
    request: int
    batch: int
    dispute: int

    def path(self, template: str) -> str:
        return template.format(
            quote=self.quote,
            beneficiary=self.beneficiary,
            transfer=self.transfer,
            vendor=self.vendor,
            request=self.request,
            batch=self.batch,
            dispute=self.dispute,
        )


def business_data(profile) -> Business:
    """A quote, a beneficiary and a transfer (from another quote), through the services."""

    def quote():
        return quote_create(
            actor=ACTOR,
            profile=profile,
            source_currency="GBP",
            target_currency="EUR",
            source_amount="100.00",
        )

    beneficiary = build_beneficiary(profile=profile, currency="EUR")
    transfer = transfer_create(
        actor=ACTOR,
        profile=profile,
        quote_id=quote().pk,
        beneficiary_id=beneficiary.pk,
        customer_transaction_id="INV-1",
    )
    # An ERP vendor and a batch of one request (no approval needed: approve and reject then
    # answer 409, never a 403 that a scope would not explain).
    ApprovalPolicy.objects.create(profile=profile, approve_new_or_changed_vendors=False)
    vendor_upsert(
        actor=ACTOR, profile=profile, erp_vendor_id="V-1", name="Lieferant GmbH",
        holder_name="Lieferant GmbH", currency="EUR", country="DE", scheme="iban",
        details={"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
    )  # fmt: skip
    batch = payment_batch_create(
        actor=ACTOR, profile=profile, erp_batch_id="RUN-1",
        items=[
            PaymentRequestInput(
                erp_payment_id="PAY-1", amount="10.00", currency="EUR", source_currency="GBP",
                vendor_id="V-1", due_date=timezone.localdate(),
            )
        ],
    )  # fmt: skip
    # A paid-out transfer with a dispute open on it (the disputes endpoints' ids).
    build_wallet_funding(profile=profile, currency="GBP", amount_minor=10_000)
    paid = transfer_create(
        actor=ACTOR, profile=profile, quote_id=quote().pk, beneficiary_id=beneficiary.pk,
        customer_transaction_id="INV-DISPUTED",
    )  # fmt: skip
    for step in (transfer_fund, transfer_submit, transfer_complete):
        step(actor=ACTOR, transfer_id=paid.pk)
    dispute = dispute_open(actor=ACTOR, profile=profile, transfer_id=paid.pk, reason="duplicate")
    return Business(
        quote=str(quote().pk),
        beneficiary=beneficiary.pk,
        transfer=transfer.pk,
        vendor="V-1",
        request=batch.requests[0].pk,
        batch=batch.batch.pk,
        dispute=dispute.pk,
    )


def call(api, method: str, path: str):
    return api.get(path) if method == "GET" else api.post(path, {})


def api_routes() -> set[tuple[str, str]]:
    """(method, route) of every handler of fintech.api under /api/v1/ (docs, schema, problems
    are public). Handlers other apps mount under /api/v1/ (integrations' webhooks) have their
    own matrix; they too must declare their scopes, which is checked here for every one."""
    public = {"schema/", "docs/", "redoc/", "problems/", "problems/<str:code>"}
    found: set[tuple[str, str]] = set()

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(
                    pattern.url_patterns,
                    prefix + str(pattern.pattern),
                    pattern.namespace or namespace,
                )
            elif isinstance(pattern, URLPattern) and prefix.startswith("api/v1/"):
                route = str(pattern.pattern)
                view = getattr(pattern.callback, "view_class", None)
                if view is None or route in public:
                    continue
                for method in ("get", "post", "put", "patch", "delete"):
                    if hasattr(view, method):
                        # Every handler declares its scopes: none may run unguarded.
                        assert declared_scopes(view, method), (view, method)
                        if namespace == "api":
                            found.add((method.upper(), route))

    walk(get_resolver().url_patterns, "", "")
    return found


def test_the_matrix_covers_every_endpoint() -> None:
    def route(path: str) -> str:
        path = path.split("?")[0].lstrip("/")
        for name, converter in (
            ("{quote}", "<str:quote_id>"),
            ("{beneficiary}", "<str:beneficiary_id>"),
            ("{transfer}", "<str:transfer_id>"),
            ("{vendor}", "<str:erp_vendor_id>"),
            ("{request}", "<str:request_id>"),
            ("{batch}", "<str:batch_id>"),
            ("{dispute}", "<str:dispute_id>"),
        ):
            path = path.replace(name, converter)
        return path

    assert {(method, route(path)) for method, path, _ in ENDPOINTS} == api_routes()


@pytest.mark.parametrize("scope", ALL_SCOPES)
def test_only_the_declared_scope_passes(scope, alice, client) -> None:
    sandbox = build_profile(legal_name="Sandbox Ltd", is_sandbox=True)
    data = business_data(sandbox)
    api = api_for(client, issue_client(sandbox), scope=scope)
    for method, template, required in ENDPOINTS:
        response = call(api, method, data.path(template))
        body = json.loads(response.content)
        if scope == required:
            assert response.status_code != 403, (method, template, body)
        else:
            assert response.status_code == 403, (method, template, scope, body)
            assert body["code"] == "insufficient_scope"
            assert body["required_scopes"] == [required]
            assert required in body["detail"]


@pytest.fixture
def carol(alice_user):
    """Another verified business with the same kinds of data as alice."""
    return build_profile(legal_name="Carol Imports Ltd")


def test_another_business_ids_are_404_on_every_endpoint(client, alice, carol) -> None:
    fund_wallet(alice, "GBP", 100_000)
    alices = business_data(alice)
    carol_api = api_for(client, issue_client(carol))
    for method, template, _ in ENDPOINTS:
        if "{" not in template or template.startswith("/sandbox"):
            continue
        response = call(carol_api, method, alices.path(template))
        assert response.status_code == 404, (method, template, response.content)
        assert json.loads(response.content)["code"] == "not_found"
    # Creating with alice's quote and beneficiary is a 404 too.
    response = carol_api.post(
        "/transfers",
        {
            "quote_id": alices.quote,
            "beneficiary_id": alices.beneficiary,
            "customer_transaction_id": "steal",
        },
    )
    assert response.status_code == 404
    # Nothing of alice's changed.
    assert Transfer.objects.get(pk=alices.transfer).state == "created"
    assert Beneficiary.objects.get(pk=alices.beneficiary).is_active
    assert Transfer.objects.filter(profile=carol).count() == 0


def test_another_business_data_never_shows_in_lists_or_reads(client, alice, carol) -> None:
    fund_wallet(alice, "GBP", 100_000)
    business_data(alice)
    carol_api = api_for(client, issue_client(carol))
    assert json.loads(carol_api.get("/profile").content)["id"] == carol.pk
    assert json.loads(carol_api.get("/transfers").content)["results"] == []
    assert json.loads(carol_api.get("/disputes").content)["results"] == []
    assert json.loads(carol_api.get("/beneficiaries").content)["results"] == []
    assert json.loads(carol_api.get("/balances").content)["results"] == []
    statement = json.loads(carol_api.get("/ledger/statement", {"currency": "GBP"}).content)
    assert statement["lines"] == []
    assert statement["closing_balance"] == "0.00"


def test_sandbox_simulation_is_404_for_other_sandboxes_and_for_live_apps(
    client, alice, alice_user
) -> None:
    sandbox_a = build_profile(legal_name="Sandbox A", is_sandbox=True)
    sandbox_b = build_profile(legal_name="Sandbox B", is_sandbox=True)
    data_a = business_data(sandbox_a)
    api_b = api_for(client, issue_client(sandbox_b))
    path = f"/sandbox/transfers/{data_a.transfer}/simulate"
    assert api_b.post(path, {"outcome": "processing"}).status_code == 404

    live = business_data(alice)
    live_api = api_for(Client(), issue_client(alice))
    response = live_api.post(
        f"/sandbox/transfers/{live.transfer}/simulate", {"outcome": "processing"}
    )
    assert response.status_code == 404
    assert Transfer.objects.get(pk=live.transfer).state == "created"


def test_a_sandbox_client_is_bound_to_a_sandbox_profile(alice) -> None:
    from django.core.exceptions import ValidationError

    issued = issue_client(alice)
    assert issued.api_client.is_sandbox is False
    issued.api_client.is_sandbox = True
    with pytest.raises(ValidationError):
        issued.api_client.full_clean()
