"""Xero end to end, with real pieces: our server (live_server: the API, /webhooks/xero/ and
the Xero sandbox under /sandbox/xero/), a real Celery worker (a subprocess) on a throwaway
Redis, the OAuth dance over HTTP, and jobs synced into the sandbox. Each wait is bounded;
`tick` is beat's stand-in (the relay and the due scans)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import redis
import requests
from django.conf import settings as django_settings
from django.utils import timezone

from fintech.core.models import OutboxEvent
from fintech.core.services import Actor
from fintech.payments.models import ApprovalPolicy, PaymentRequest
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_fund, transfer_refund, transfer_submit
from integrations.connectors.accounting.xero import demo
from integrations.connectors.accounting.xero.client import XeroClient
from integrations.connectors.accounting.xero.reconcile import reconcile_fees
from integrations.models import XeroSandboxObject
from integrations.relay import outbox_relay
from integrations.sync import services
from integrations.sync.models import Connection, SyncJob, SyncMismatch
from integrations.tasks import scan_due
from tests.api.conftest import api_for, issue_client
from tests.integrations.conftest import create_transfer, fund_wallet, wait_for
from tests.payments.conftest import ERP_SCOPES, body, request_body, sync_vendor

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
OPS = Actor.system("test-xero")
State = SyncJob.State


def tick() -> None:
    outbox_relay()
    scan_due()


@pytest.fixture
def ours(live_server, settings, redis_server) -> str:
    """Our server as Xero and the partners see it, with its Xero endpoints pointing at the
    sandbox it serves, and limits out of the way (tests of limits set their own)."""
    redis.Redis.from_url(redis_server.url).flushdb()
    url = live_server.url
    sandbox = f"{url}/sandbox/xero"
    settings.FINTECH_BASE_URL = url
    settings.XERO_SANDBOX_BASE_URL = sandbox
    settings.XERO_AUTHORIZE_URL = f"{sandbox}/identity/connect/authorize"
    settings.XERO_TOKEN_URL = f"{sandbox}/identity/connect/token"
    settings.XERO_REVOKE_URL = f"{sandbox}/identity/connect/revocation"
    settings.XERO_CONNECTIONS_URL = f"{sandbox}/connections"
    settings.XERO_API_URL = f"{sandbox}/api.xro/2.0"
    settings.XERO_SANDBOX_WEBHOOK_URL = f"{url}/webhooks/xero/"
    settings.PAYOUT_SANDBOX_BASE_URL = f"{url}/sandbox/payout-partner"
    settings.KYC_SANDBOX_BASE_URL = f"{url}/sandbox/kyc-provider"
    settings.PAYOUT_SANDBOX_LATENCY_SECONDS = 0
    settings.KYC_SANDBOX_LATENCY_SECONDS = 0
    settings.XERO_SANDBOX_RATE_PER_MINUTE = 100_000
    settings.XERO_SANDBOX_RATE_PER_DAY = 1_000_000
    settings.XERO_SANDBOX_CONCURRENT_LIMIT = 100
    return url


@pytest.fixture
def books(ours) -> Connection:
    """The platform's own books connected to the sandbox by the OAuth dance, mapped."""
    connection, url = services.connection_start(actor=OPS, provider="xero", profile_id=None)
    connection = demo.connect_by_redirect(connection=connection, authorization_url=url)
    assert connection.status == Connection.Status.ACTIVE
    demo.mapping_apply(connection=connection, mapping=demo.SANDBOX_MAPPING)
    assert services.mapping_problems(connection=connection) == []
    Connection.objects.filter(pk=connection.pk).update(calls_per_minute=100_000)
    connection.refresh_from_db()
    return connection


def control(tenant: str, body: dict | None = None, path: str = "", method: str = "POST") -> dict:
    answer = requests.request(
        method,
        f"{django_settings.XERO_SANDBOX_BASE_URL}/control/{tenant}{path}",
        json=body,
        headers={"Authorization": f"Bearer {django_settings.XERO_SANDBOX_CLIENT_SECRET}"},
        timeout=10,
    )
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


def in_sandbox(kind: str, **data: str) -> int:
    return XeroSandboxObject.objects.filter(
        kind=kind, **{f"data__{k}": v for k, v in data.items()}
    ).count()


def jobs_of(reference: str) -> dict[str, str]:
    return {
        j.action: j.state
        for j in SyncJob.objects.filter(object_type__in=["transfer", "refund"], object_id=reference)
    }


def settled() -> bool:
    """No job is waiting or running."""
    import sys

    for j in SyncJob.objects.exclude(last_error=""):
        print(j.action, j.object_id, j.state, j.last_error, file=sys.stderr)
    return not SyncJob.objects.filter(
        state__in=[State.PENDING, State.IN_FLIGHT, State.RETRY_SCHEDULED]
    ).exists()


def submitted(profile, **kwargs) -> Transfer:
    transfer = create_transfer(profile, **kwargs)
    transfer_fund(actor=OPS, transfer_id=transfer.pk)
    transfer_submit(actor=OPS, transfer_id=transfer.pk)
    return transfer


def test_transfers_refunds_fundings_and_failures_reach_xero_once_each(
    books, ours, start_worker, alice
) -> None:
    start_worker(base_url=ours)
    fund_wallet(alice, "GBP", 10_000_00)  # wallet.funded: a receipt into client money
    paid = submitted(alice, amount="250.00")
    refunded = submitted(alice, amount="120.00")
    failed = submitted(alice, holder_name="Please fail GmbH", amount="90.00")

    def state(t: Transfer) -> str:
        return Transfer.objects.get(pk=t.pk).state

    wait_for(
        lambda: state(paid) == "completed" and state(refunded) == "completed", timeout=90, tick=tick
    )
    wait_for(lambda: state(failed) == "failed", timeout=90, tick=tick)
    transfer_refund(actor=OPS, transfer_id=refunded.pk, reason="customer asked")
    wait_for(
        lambda: (
            jobs_of(paid.reference).get("fee_payment") == State.SYNCED
            and jobs_of(refunded.reference).get("fee_credit_note") == State.SYNCED
            and settled()
        ),
        timeout=120,
        tick=tick,
    )

    assert jobs_of(paid.reference) == {
        "fee_invoice": State.SYNCED,
        "fx_margin": State.SYNCED,
        "fee_payment": State.SYNCED,
    }
    # The failure: an exception for operators; what had reached Xero was reversed.
    assert SyncMismatch.objects.filter(
        kind=SyncMismatch.Kind.TRANSFER_FAILED, object_id=failed.reference
    ).exists()
    failed_jobs = jobs_of(failed.reference)
    assert failed_jobs.get("fee_invoice") in (State.SYNCED, State.SKIPPED)
    if failed_jobs["fee_invoice"] == State.SYNCED:
        assert failed_jobs["fee_credit_note"] == State.SYNCED
        invoice = XeroSandboxObject.objects.get(
            kind="Invoice", data__InvoiceNumber=failed.reference
        )
        assert Decimal(str(invoice.data["AmountDue"])) == 0  # credited, not deleted
    # The refund: a credit note paid out (the invoice was paid), the margin given back.
    assert in_sandbox("CreditNote", CreditNoteNumber=f"{refunded.reference}-CN") == 1
    assert in_sandbox("Payment", Reference=f"{refunded.reference}-CN-REFUND") == 1
    assert in_sandbox("BankTransaction", Reference=f"{refunded.reference}-FX-REV") == 1
    fundings = OutboxEvent.objects.filter(type="wallet.funded").count()  # alice's, and ours
    assert SyncJob.objects.filter(object_type="funding", state=State.SYNCED).count() == fundings

    # Replayed events and every job retried: nothing new in Xero.
    before = XeroSandboxObject.objects.exclude(kind="Account").count()
    demo.events_replay()
    services.jobs_retry(actor=OPS, jobs=SyncJob.objects.all(), reason="test: replay")
    SyncJob.objects.filter(state=State.PENDING).update(next_attempt_at=timezone.now())
    wait_for(settled, timeout=120, tick=tick)
    assert XeroSandboxObject.objects.exclude(kind="Account").count() == before
    for reference in (paid.reference, refunded.reference):
        assert in_sandbox("Invoice", InvoiceNumber=reference) == 1
        assert in_sandbox("BankTransaction", Reference=f"{reference}-FX") == 1
    assert in_sandbox("Contact", ContactNumber=f"PRF-{alice.pk}") == 1

    # Our side against Xero: consistent, until someone changes the invoice in Xero.
    assert reconcile_fees(connection_id=books.pk).mismatches == []
    # Someone in Xero removes the fee's payment and edits the invoice's total.
    payment = SyncJob.objects.get(object_id=paid.reference, action="fee_payment")
    control(books.tenant_id, {}, f"/objects/payment/{payment.external_id}", method="DELETE")
    invoice = XeroSandboxObject.objects.get(kind="Invoice", data__InvoiceNumber=paid.reference)
    control(books.tenant_id, {"Total": 1}, f"/objects/invoice/{invoice.pk}")
    report = reconcile_fees(connection_id=books.pk)
    assert any(paid.reference in m for m in report.mismatches)
    assert SyncMismatch.objects.filter(
        kind=SyncMismatch.Kind.AMOUNT, object_id=paid.reference
    ).exists()


def test_a_change_in_xero_comes_back_as_a_mismatch_not_an_overwrite(
    books, ours, start_worker, alice
) -> None:
    start_worker(base_url=ours)
    fund_wallet(alice, "GBP", 1_000_00)
    transfer = submitted(alice, amount="100.00")
    wait_for(
        lambda: jobs_of(transfer.reference).get("fee_invoice") == State.SYNCED,
        timeout=90,
        tick=tick,
    )
    job = SyncJob.objects.get(object_id=transfer.reference, action="fee_invoice")
    # A Xero user voids our invoice: Xero's signed webhook reaches /webhooks/xero/.
    control(books.tenant_id, {"Status": "VOIDED"}, f"/objects/invoice/{job.external_id}")
    wait_for(
        lambda: SyncMismatch.objects.filter(
            kind=SyncMismatch.Kind.EXTERNAL_DELETED, external_id=job.external_id
        ).exists(),
        timeout=60,
        tick=tick,
    )
    mismatch = SyncMismatch.objects.get(external_id=job.external_id)
    assert mismatch.theirs["status"] == "VOIDED"
    assert SyncJob.objects.get(pk=job.pk).state == State.SYNCED  # neither side overwritten


def test_a_refused_refresh_pauses_the_queue_and_a_reconnect_resumes_it(
    books, ours, start_worker, alice
) -> None:
    # The grant is revoked at Xero (an admin disconnected us there) and the token expires.
    requests.post(
        django_settings.XERO_REVOKE_URL,
        data={"token": books.refresh_token},
        auth=(django_settings.XERO_CLIENT_ID, django_settings.XERO_CLIENT_SECRET),
        timeout=10,
    ).raise_for_status()
    Connection.objects.filter(pk=books.pk).update(token_expires_at=timezone.now())
    start_worker(base_url=ours)
    fund_wallet(alice, "GBP", 1_000_00)
    transfer = submitted(alice, amount="100.00")
    wait_for(
        lambda: Connection.objects.get(pk=books.pk).status == Connection.Status.RECONNECT_REQUIRED,
        timeout=90,
        tick=tick,
    )
    assert not SyncJob.objects.filter(state__in=[State.FAILED, State.DEAD]).exists()
    waiting = SyncJob.objects.filter(state=State.PENDING).count()
    assert waiting >= 1
    # An operator reconnects: the same connection, its queue resumes.
    again, url = services.connection_start(actor=OPS, provider="xero", profile_id=None)
    assert again.pk == books.pk
    demo.connect_by_redirect(connection=again, authorization_url=url)
    wait_for(
        lambda: jobs_of(transfer.reference).get("fee_invoice") == State.SYNCED,
        timeout=90,
        tick=tick,
    )


def test_a_429_storm_and_expiring_tokens_still_sync_each_object_once(
    books, ours, start_worker, alice
) -> None:
    control(books.tenant_id, {"error_429_percent": 50})
    start_worker(base_url=ours)
    start_worker(base_url=ours)  # two workers share one connection's tokens and budget
    # The subject is the 429s and the token race, not our own per-minute budget (its tests are
    # in tests/sync): with Xero's 60 a minute, the retries ran into the next minute's window.
    Connection.objects.filter(pk=books.pk).update(
        token_expires_at=timezone.now(), calls_per_minute=1_000
    )
    fund_wallet(alice, "GBP", 5_000_00)
    transfers = [submitted(alice, amount=f"{100 + i}.00") for i in range(4)]
    wait_for(
        lambda: (
            all(jobs_of(t.reference).get("fx_margin") == State.SYNCED for t in transfers)
            and all(jobs_of(t.reference).get("fee_invoice") == State.SYNCED for t in transfers)
        ),
        timeout=150,
        tick=tick,
    )
    for t in transfers:
        assert in_sandbox("Invoice", InvoiceNumber=t.reference) == 1
        assert in_sandbox("BankTransaction", Reference=f"{t.reference}-FX") == 1
    connection = Connection.objects.get(pk=books.pk)
    assert connection.status == Connection.Status.ACTIVE  # refreshed once, by one worker
    assert connection.token_expires_at > timezone.now()


def test_a_worker_killed_mid_job_leaves_one_object(
    books, ours, start_worker, alice, settings
) -> None:
    settings.SYNC_JOB_LEASE_SECONDS = 8  # the scanner's republish window, as the workers'
    control(books.tenant_id, {"latency_ms": 4000})
    worker = start_worker(base_url=ours, SYNC_JOB_LEASE_SECONDS="8")
    fund_wallet(alice, "GBP", 1_000_00)
    transfer = submitted(alice, amount="100.00")
    wait_for(lambda: SyncJob.objects.filter(state=State.IN_FLIGHT).exists(), timeout=60, tick=tick)
    worker.kill()  # SIGKILL: no cleanup, the claim stays until its lease lapses
    control(books.tenant_id, {"latency_ms": 0})
    start_worker(base_url=ours, SYNC_JOB_LEASE_SECONDS="8")
    wait_for(
        lambda: (
            jobs_of(transfer.reference).get("fx_margin") == State.SYNCED
            and jobs_of(transfer.reference).get("fee_invoice") == State.SYNCED
        ),
        timeout=120,
        tick=tick,
    )
    assert in_sandbox("Contact", ContactNumber=f"PRF-{alice.pk}") == 1
    assert in_sandbox("Invoice", InvoiceNumber=transfer.reference) == 1
    assert in_sandbox("BankTransaction", Reference=f"{transfer.reference}-FX") == 1


def own_books(profile) -> Connection:
    """`profile`'s finance team's own organisation, connected and mapped: our grant then
    reaches two organisations (the platform's books are connected first), so they choose
    theirs."""
    org = control("orgs", {"name": f"{profile.legal_name} (sandbox)", "base_currency": "GBP",
                           "currencies": ["GBP", "EUR"]})  # fmt: skip
    connection, url = services.connection_start(actor=OPS, provider="xero", profile_id=profile.pk)
    connection = demo.connect_by_redirect(connection=connection, authorization_url=url)
    assert connection.status == Connection.Status.SELECT_TENANT
    connection = services.connection_tenant_choose(
        actor=OPS, connection_id=connection.pk, tenant_id=str(org["tenantId"])
    )
    demo.mapping_apply(
        connection=connection,
        mapping={"wallet_bank": "090", "wallet_bank:EUR": "092", "payout_clearing": "820",
                 "bank_fees": "404", "funding_clearing": "610"},
    )  # fmt: skip
    assert services.mapping_problems(connection=connection) == []
    return connection


def test_a_customers_own_books_get_their_payouts_and_fundings(
    books, ours, start_worker, alice
) -> None:
    connection = own_books(alice)
    start_worker(base_url=ours)
    fund_wallet(alice, "GBP", 1_000_00)
    transfer = submitted(alice, amount="200.00")

    def alice_jobs() -> dict[str, str]:
        return {
            j.action: j.state
            for j in SyncJob.objects.filter(connection=connection).exclude(object_type="funding")
        }

    wait_for(lambda: alice_jobs().get("supplier_payout") == State.SYNCED, timeout=120, tick=tick)
    wait_for(
        lambda: SyncJob.objects.filter(
            connection=connection, action="customer_funding", state=State.SYNCED
        ).exists(),
        timeout=60,
        tick=tick,
    )
    spend = XeroSandboxObject.objects.get(
        org_id=connection.tenant_id, kind="BankTransaction", data__Reference=transfer.reference
    )
    assert spend.data["Type"] == "SPEND"
    assert {line["AccountCode"] for line in spend.data["LineItems"]} == {"820", "404"}
    # The platform's books are another organisation: nothing of alice's landed there.
    assert not XeroSandboxObject.objects.filter(
        org_id=books.tenant_id, kind="BankTransaction", data__Reference=transfer.reference
    ).exists()


def test_an_erp_payment_pays_its_bill_in_the_customers_books(
    books, ours, start_worker, alice, client, settings
) -> None:
    """Issue 15's "back to the ERP" with an accounting connection: the supplier bill is in
    alice's Xero organisation; her ERP sends the payment request naming it; once the payout
    completes, the bill is paid by a Payment with our reference, not a plain spend."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    connection = own_books(alice)
    xero = XeroClient(connection)
    supplier = xero.put("Contacts", {"Contacts": [{"Name": "Lieferant GmbH"}]}, key="c-1")
    bill = xero.put(
        "Invoices",
        {"Invoices": [{
            "Type": "ACCPAY", "InvoiceNumber": "BILL-4711", "Status": "AUTHORISED",
            "Contact": {"ContactID": supplier["ContactID"]}, "CurrencyCode": "EUR",
            "Date": "2026-12-01", "DueDate": "2026-12-15", "LineAmountTypes": "NoTax",
            "LineItems": [{"Description": "Machine parts", "Quantity": 1,
                           "UnitAmount": Decimal("1250.00"), "AccountCode": "404"}],
        }]},
        key="bill-4711",
    )  # fmt: skip
    ApprovalPolicy.objects.create(
        profile=alice, approve_new_or_changed_vendors=False, thresholds_minor={"EUR": 10**9}
    )
    fund_wallet(alice, "GBP", 5_000_00)
    start_worker(base_url=ours)
    erp = api_for(client, issue_client(alice, ERP_SCOPES))
    sync_vendor(erp)
    made = body(
        erp.post(
            "/payment-requests",
            request_body(erp_payment_id="PAY-4711", amount="1250.00", bill_reference="BILL-4711"),
        )
    )
    wait_for(
        lambda: PaymentRequest.objects.get(pk=made["id"]).state == "funded", timeout=60, tick=tick
    )
    transfer = Transfer.objects.get(pk=PaymentRequest.objects.get(pk=made["id"]).transfer_id)
    transfer_submit(actor=OPS, transfer_id=transfer.pk)

    def payout_synced() -> bool:
        return SyncJob.objects.filter(
            connection=connection, action="supplier_payout", state=State.SYNCED
        ).exists()

    wait_for(payout_synced, timeout=120, tick=tick)
    payment = XeroSandboxObject.objects.get(
        org_id=connection.tenant_id, kind="Payment", data__Reference=transfer.reference
    )
    assert payment.data["Invoice"]["InvoiceID"] == bill["InvoiceID"]
    paid = XeroSandboxObject.objects.get(
        org_id=connection.tenant_id, kind="Invoice", data__InvoiceID=bill["InvoiceID"]
    )
    assert paid.data["Status"] == "PAID"
    assert Decimal(str(paid.data["AmountDue"])) == 0
    # A bill payment, not a spend of the whole payout (the fee alone is spent, on its own).
    spends = XeroSandboxObject.objects.filter(
        org_id=connection.tenant_id, kind="BankTransaction", data__Reference=transfer.reference
    )
    assert [line["AccountCode"] for s in spends for line in s.data["LineItems"]] == ["404"]
