"""QuickBooks Online end to end, with real pieces: our server (live_server: the API,
/webhooks/quickbooks/ and the QuickBooks sandbox under /sandbox/quickbooks/), a real Celery
worker (a subprocess) on a throwaway Redis, Intuit's OAuth dance over HTTP (the realmId comes
back with the code), and jobs synced into the sandbox. As tests/integrations/test_xero_sync.py
for Xero; `tick` is beat's stand-in."""

from __future__ import annotations

from decimal import Decimal

import pytest
import redis
import requests
from django.conf import settings as django_settings
from django.utils import timezone

from fintech.core.services import Actor
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_refund
from integrations.connectors.accounting.quickbooks import demo
from integrations.models import InboundWebhook, QuickBooksSandboxObject, QuickBooksSandboxWebhook
from integrations.sync import services
from integrations.sync.models import Connection, SyncJob, SyncMismatch
from tests.integrations.conftest import fund_wallet, wait_for
from tests.integrations.test_xero_sync import settled, submitted, tick

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
OPS = Actor.system("test-quickbooks")
State = SyncJob.State
# The sandbox company's seeded chart (integrations/simulators/quickbooks/companies.py).
PLATFORM_MAPPING = {
    "client_money": "35", "client_money:EUR": "98", "client_money:USD": "99",
    "fee_receivable": "84", "fee_revenue": "79", "fx_margin_revenue": "80", "customer_funds": "92",
    "payout_clearing": "93", "fx_position": "94",
}  # fmt: skip
CUSTOMER_MAPPING = {
    "wallet_bank": "36", "wallet_bank:EUR": "100", "payout_clearing": "95",
    "bank_fees": "8", "funding_clearing": "96",
}  # fmt: skip


@pytest.fixture
def ours(live_server, settings, redis_server) -> str:
    """Our server as Intuit and the partners see it, its QuickBooks endpoints pointing at the
    sandbox it serves, limits out of the way (tests of limits set their own)."""
    redis.Redis.from_url(redis_server.url).flushdb()
    url = live_server.url
    sandbox = f"{url}/sandbox/quickbooks"
    settings.FINTECH_BASE_URL = url
    settings.QUICKBOOKS_SANDBOX_BASE_URL = sandbox
    settings.QUICKBOOKS_AUTHORIZE_URL = f"{sandbox}/oauth2/authorize"
    settings.QUICKBOOKS_TOKEN_URL = f"{sandbox}/oauth2/tokens/bearer"
    settings.QUICKBOOKS_REVOKE_URL = f"{sandbox}/oauth2/revoke"
    settings.QUICKBOOKS_API_URL = f"{sandbox}/v3"
    settings.QUICKBOOKS_SANDBOX_WEBHOOK_URL = f"{url}/webhooks/quickbooks/"
    settings.PAYOUT_SANDBOX_BASE_URL = f"{url}/sandbox/payout-partner"
    settings.KYC_SANDBOX_BASE_URL = f"{url}/sandbox/kyc-provider"
    settings.PAYOUT_SANDBOX_LATENCY_SECONDS = 0
    settings.KYC_SANDBOX_LATENCY_SECONDS = 0
    settings.QUICKBOOKS_SANDBOX_RATE_PER_MINUTE = 100_000
    settings.QUICKBOOKS_SANDBOX_CONCURRENT_LIMIT = 100
    settings.XERO_CONNECTOR = "none"  # only QuickBooks' jobs here
    return url


def control(path: str = "", body: dict | None = None, method: str = "POST") -> dict:
    answer = requests.request(
        method,
        f"{django_settings.QUICKBOOKS_SANDBOX_BASE_URL}/control/{path}",
        json=body,
        headers={"Authorization": f"Bearer {django_settings.QUICKBOOKS_SANDBOX_CLIENT_SECRET}"},
        timeout=10,
    )
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


def connect(profile_id: int | None, *, realm: str = "") -> Connection:
    """Through Intuit's dance (the sandbox consents at once; `realm` picks its company)."""
    connection, url = services.connection_start(
        actor=OPS, provider="quickbooks", profile_id=profile_id
    )
    if realm:
        url += f"&realm_id={realm}"  # the sandbox's stand-in for choosing a company
    return demo.connect_by_redirect(connection=connection, authorization_url=url)


@pytest.fixture
def books(ours) -> Connection:
    """The platform's own books connected to the sandbox's default company, mapped."""
    connection = connect(None)
    assert connection.status == Connection.Status.ACTIVE
    assert connection.tenant_id.startswith("9341")  # the realmId the callback carried
    demo.mapping_apply(connection=connection, mapping=PLATFORM_MAPPING)
    assert services.mapping_problems(connection=connection) == []
    Connection.objects.filter(pk=connection.pk).update(calls_per_minute=100_000)
    connection.refresh_from_db()
    return connection


def in_sandbox(realm: str, entity: str, **data: str) -> int:
    return QuickBooksSandboxObject.objects.filter(
        company_id=realm, entity=entity, deleted=False, **{f"data__{k}": v for k, v in data.items()}
    ).count()


# A completed transfer's jobs in the platform's books: fee and margin posted, the fee paid.
POSTED_AND_PAID = {
    "fee_journal": State.SYNCED,
    "fx_margin_journal": State.SYNCED,
    "fee_payment": State.SYNCED,
}


def jobs_of(reference: str, connection: Connection | None = None) -> dict[str, str]:
    jobs = SyncJob.objects.filter(object_type__in=["transfer", "refund"], object_id=reference)
    if connection is not None:
        jobs = jobs.filter(connection=connection)
    return {j.action: j.state for j in jobs}


def state(t: Transfer) -> str:
    return Transfer.objects.get(pk=t.pk).state


def test_transfers_refunds_fundings_and_failures_reach_quickbooks_once_each(
    books, ours, start_worker, alice
) -> None:
    realm = books.tenant_id
    start_worker(base_url=ours)
    fund_wallet(alice, "GBP", 10_000_00)  # wallet.funded: a Deposit into client money
    paid = submitted(alice, amount="250.00")
    refunded = submitted(alice, amount="120.00")
    failed = submitted(alice, holder_name="Please fail GmbH", amount="90.00")
    wait_for(
        lambda: state(paid) == "completed" and state(refunded) == "completed", timeout=90, tick=tick
    )
    wait_for(lambda: state(failed) == "failed", timeout=90, tick=tick)
    transfer_refund(actor=OPS, transfer_id=refunded.pk, reason="customer asked")
    wait_for(
        lambda: jobs_of(refunded.reference).get("fee_reversal") == State.SYNCED and settled(),
        timeout=120,
        tick=tick,
    )
    assert jobs_of(paid.reference) == POSTED_AND_PAID
    fee = QuickBooksSandboxObject.objects.get(
        company_id=realm, entity="JournalEntry", data__DocNumber=f"{paid.reference}-FEE"
    )
    margin = QuickBooksSandboxObject.objects.get(
        company_id=realm, entity="JournalEntry", data__DocNumber=f"{paid.reference}-FX"
    )
    assert margin.data["CurrencyRef"]["value"] == "EUR"
    assert Decimal(str(margin.data["ExchangeRate"])) > 0
    customer_id = SyncJob.objects.get(action="contact").external_id
    receivable = fee.data["Line"][0]["JournalEntryLineDetail"]
    assert receivable["AccountRef"]["value"] == PLATFORM_MAPPING["fee_receivable"]
    assert receivable["Entity"]["EntityRef"]["value"] == customer_id
    # Completed: the fee paid by a Payment the sandbox applied to the fee journal.
    payment = QuickBooksSandboxObject.objects.get(
        company_id=realm, entity="Payment", data__PaymentRefNum=f"{paid.reference}-FEE-PAY"
    )
    assert payment.data["Line"][0]["LinkedTxn"] == [
        {"TxnId": fee.object_id, "TxnType": "JournalEntry"}
    ]
    assert payment.data["CustomerRef"]["value"] == customer_id
    assert payment.data["DepositToAccountRef"]["value"] == PLATFORM_MAPPING["client_money"]
    assert Decimal(str(payment.data["TotalAmt"])) == Decimal(str(fee.data["TotalAmt"]))
    assert Decimal(str(payment.data["UnappliedAmt"])) == 0
    # The failure: an exception for operators; what had reached QuickBooks mirrored.
    assert SyncMismatch.objects.filter(
        kind=SyncMismatch.Kind.TRANSFER_FAILED, object_id=failed.reference
    ).exists()
    failed_jobs = jobs_of(failed.reference)
    if failed_jobs["fee_journal"] == State.SYNCED:
        assert failed_jobs["fee_reversal"] == State.SYNCED
        assert in_sandbox(realm, "JournalEntry", DocNumber=f"{failed.reference}-FEE-REV") == 1
    else:
        assert failed_jobs["fee_journal"] == State.SKIPPED  # nothing posted
        assert in_sandbox(realm, "JournalEntry", DocNumber=f"{failed.reference}-FEE") == 0
    # The refund: the paid fee given back by a RefundReceipt from client money (its line on
    # the fee Item, whose income account is fee_revenue), the margin by a reversing journal.
    assert in_sandbox(realm, "Payment", PaymentRefNum=f"{refunded.reference}-FEE-PAY") == 1
    receipt = QuickBooksSandboxObject.objects.get(
        company_id=realm, entity="RefundReceipt", data__DocNumber=f"{refunded.reference}-FEE-RF"
    )
    assert receipt.data["CustomerRef"]["value"] == customer_id
    assert receipt.data["DepositToAccountRef"]["value"] == PLATFORM_MAPPING["client_money"]
    item_id = receipt.data["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"]
    item = QuickBooksSandboxObject.objects.get(company_id=realm, entity="Item", object_id=item_id)
    assert item.data["IncomeAccountRef"]["value"] == PLATFORM_MAPPING["fee_revenue"]
    assert in_sandbox(realm, "JournalEntry", DocNumber=f"{refunded.reference}-FEE-REV") == 0
    assert in_sandbox(realm, "JournalEntry", DocNumber=f"{refunded.reference}-FX-REV") == 1
    for funding in SyncJob.objects.filter(action="funding"):
        assert funding.state == State.SYNCED, funding.last_error

    # Replayed events and every job retried: nothing new in QuickBooks.
    before = QuickBooksSandboxObject.objects.filter(company_id=realm).count()
    demo.events_replay()
    services.jobs_retry(actor=OPS, jobs=SyncJob.objects.all(), reason="test: replay")
    SyncJob.objects.filter(state=State.PENDING).update(next_attempt_at=timezone.now())
    wait_for(settled, timeout=120, tick=tick)
    assert QuickBooksSandboxObject.objects.filter(company_id=realm).count() == before
    for reference in (paid.reference, refunded.reference):
        assert in_sandbox(realm, "JournalEntry", DocNumber=f"{reference}-FEE") == 1
        assert in_sandbox(realm, "JournalEntry", DocNumber=f"{reference}-FX") == 1
        assert in_sandbox(realm, "Payment", PaymentRefNum=f"{reference}-FEE-PAY") == 1
    assert in_sandbox(realm, "RefundReceipt", DocNumber=f"{refunded.reference}-FEE-RF") == 1
    assert in_sandbox(realm, "Customer", DisplayName=f"Alice Trading Ltd [PRF-{alice.pk}]") == 1


def test_a_change_in_quickbooks_comes_back_as_a_mismatch_not_an_overwrite(
    books, ours, start_worker, alice
) -> None:
    control(books.tenant_id, {"webhooks_on": True})
    start_worker(base_url=ours)
    fund_wallet(alice, "GBP", 1_000_00)
    transfer = submitted(alice, amount="100.00")
    wait_for(
        lambda: jobs_of(transfer.reference).get("fee_journal") == State.SYNCED,
        timeout=90,
        tick=tick,
    )
    job = SyncJob.objects.get(object_id=transfer.reference, action="fee_journal")
    # A QuickBooks user deletes our journal: Intuit's signed webhook reaches us.
    control(f"{books.tenant_id}/objects/JournalEntry/{job.external_id}", method="DELETE")
    wait_for(
        lambda: SyncMismatch.objects.filter(
            kind=SyncMismatch.Kind.EXTERNAL_DELETED, external_id=job.external_id
        ).exists(),
        timeout=60,
        tick=tick,
    )
    assert SyncJob.objects.get(pk=job.pk).state == State.SYNCED  # neither side overwritten


def webhooks_quiet() -> bool:
    """Every webhook the sandbox owes us sent, and every one we received processed: our
    handling of a change reads the object back, and would take an edit armed for the next
    read (CI, under load, delivered the Customer's creation after the edit was armed)."""
    return not (
        QuickBooksSandboxWebhook.objects.filter(
            delivered_at__isnull=True, next_step_at__isnull=False
        ).exists()
        or InboundWebhook.objects.filter(
            provider="quickbooks",
            status__in=[InboundWebhook.Status.RECEIVED, InboundWebhook.Status.PROCESSING],
        ).exists()
    )


def test_a_stale_synctoken_is_a_conflict_not_an_overwrite(books, ours, start_worker, alice) -> None:
    """The profile is renamed here while a QuickBooks user edits its Customer there, right
    after the worker read it: our update under the SyncToken it read is refused by the sandbox
    with Intuit's 5010 Stale Object Error; the job fails with the reason, operators get an
    external_changed mismatch with both versions, and QuickBooks keeps its user's edit."""
    start_worker(base_url=ours)
    fund_wallet(alice, "GBP", 1_000_00)  # the Customer made (contact), then the Deposit
    wait_for(
        lambda: SyncJob.objects.filter(action="contact", state=State.SYNCED).exists(),
        timeout=90,
        tick=tick,
    )
    wait_for(lambda: settled() and webhooks_quiet(), timeout=90, tick=tick)
    contact = SyncJob.objects.get(action="contact")
    realm, customer_id = books.tenant_id, contact.external_id
    theirs = "Alice Trading (edited in QuickBooks)"
    armed = control(f"{realm}/objects/Customer/{customer_id}?after=read", {"CompanyName": theirs})
    assert (armed["armed"], armed["SyncToken"]) == (True, "0")
    type(alice).objects.filter(pk=alice.pk).update(legal_name="Alice Trading Group Ltd")
    SyncJob.objects.filter(pk=contact.pk).update(state=State.FAILED)  # made to sync again
    services.job_retry(actor=OPS, job_id=contact.pk, reason="test: the profile was renamed")
    wait_for(
        lambda: SyncJob.objects.get(pk=contact.pk).state in (State.FAILED, State.DEAD),
        timeout=90,
        tick=tick,
    )
    job = SyncJob.objects.get(pk=contact.pk)
    assert "stale SyncToken 0, now 1" in job.last_error, job.last_error
    assert "not overwritten" in job.last_error
    stored = QuickBooksSandboxObject.objects.get(
        company_id=realm, entity="Customer", object_id=customer_id
    )
    assert (stored.data["CompanyName"], stored.data["SyncToken"]) == (theirs, "1")
    mismatch = SyncMismatch.objects.get(
        kind=SyncMismatch.Kind.EXTERNAL_CHANGED, external_id=customer_id
    )
    assert mismatch.ours == {"CompanyName": "Alice Trading Group Ltd"}
    assert (mismatch.theirs["CompanyName"], mismatch.theirs["SyncToken"]) == (theirs, "1")
    assert mismatch.status == SyncMismatch.Status.OPEN


def test_a_refused_refresh_pauses_the_queue_and_a_reconnect_resumes_it(
    books, ours, start_worker, alice
) -> None:
    control(books.tenant_id, {"refuse_refresh": True})
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
    assert SyncJob.objects.filter(state=State.PENDING).exists()
    control(books.tenant_id, {"refuse_refresh": False})
    again = connect(None, realm=books.tenant_id)  # an operator reconnects: the same one
    assert again.pk == books.pk
    wait_for(
        lambda: jobs_of(transfer.reference).get("fee_journal") == State.SYNCED,
        timeout=90,
        tick=tick,
    )


def test_a_throttling_storm_and_a_rotation_race_still_sync_each_object_once(
    books, ours, start_worker, alice
) -> None:
    control(books.tenant_id, {"error_429_percent": 50})
    # Intuit's 429 names no wait: the connection's own (a minute in production) shortened.
    start_worker(base_url=ours, QUICKBOOKS_THROTTLE_WAIT_SECONDS="1")
    start_worker(base_url=ours, QUICKBOOKS_THROTTLE_WAIT_SECONDS="1")  # two workers, one token
    Connection.objects.filter(pk=books.pk).update(token_expires_at=timezone.now())
    fund_wallet(alice, "GBP", 5_000_00)
    transfers = [submitted(alice, amount=f"{100 + i}.00") for i in range(4)]
    wait_for(
        lambda: all(jobs_of(t.reference) == POSTED_AND_PAID for t in transfers),
        timeout=240,
        tick=tick,
    )
    for t in transfers:
        assert in_sandbox(books.tenant_id, "JournalEntry", DocNumber=f"{t.reference}-FEE") == 1
        assert in_sandbox(books.tenant_id, "JournalEntry", DocNumber=f"{t.reference}-FX") == 1
        assert in_sandbox(books.tenant_id, "Payment", PaymentRefNum=f"{t.reference}-FEE-PAY") == 1
    connection = Connection.objects.get(pk=books.pk)
    assert connection.status == Connection.Status.ACTIVE  # rotated once, by one worker
    assert connection.token_expires_at > timezone.now()


def test_a_worker_killed_mid_job_leaves_one_object(
    books, ours, start_worker, alice, settings
) -> None:
    settings.SYNC_JOB_LEASE_SECONDS = 8
    control(books.tenant_id, {"latency_ms": 4000})
    worker = start_worker(base_url=ours, SYNC_JOB_LEASE_SECONDS="8")
    fund_wallet(alice, "GBP", 1_000_00)
    transfer = submitted(alice, amount="100.00")
    wait_for(lambda: SyncJob.objects.filter(state=State.IN_FLIGHT).exists(), timeout=60, tick=tick)
    worker.kill()  # SIGKILL: the claim stays until its lease lapses
    control(books.tenant_id, {"latency_ms": 0})
    start_worker(base_url=ours, SYNC_JOB_LEASE_SECONDS="8")
    wait_for(
        lambda: jobs_of(transfer.reference) == POSTED_AND_PAID,
        timeout=120,
        tick=tick,
    )
    realm = books.tenant_id
    assert in_sandbox(realm, "Customer", DisplayName=f"Alice Trading Ltd [PRF-{alice.pk}]") == 1
    assert in_sandbox(realm, "JournalEntry", DocNumber=f"{transfer.reference}-FEE") == 1
    assert in_sandbox(realm, "JournalEntry", DocNumber=f"{transfer.reference}-FX") == 1
    assert in_sandbox(realm, "Payment", PaymentRefNum=f"{transfer.reference}-FEE-PAY") == 1


def test_a_customers_own_books_get_their_payouts_and_fundings(ours, start_worker, alice) -> None:
    company = control("companies", {"name": "Alice Trading (sandbox)", "home_currency": "GBP",
                                    "currencies": ["EUR"]})  # fmt: skip
    realm = company["realmId"]
    connection = connect(alice.pk, realm=realm)
    assert (connection.tenant_id, connection.tenant_name) == (realm, "Alice Trading (sandbox)")
    demo.mapping_apply(connection=connection, mapping=CUSTOMER_MAPPING)
    assert services.mapping_problems(connection=connection) == []
    start_worker(base_url=ours)
    fund_wallet(alice, "GBP", 1_000_00)
    transfer = submitted(alice, amount="200.00")
    wait_for(
        lambda: jobs_of(transfer.reference, connection).get("supplier_payout") == State.SYNCED,
        timeout=120,
        tick=tick,
    )
    wait_for(
        lambda: SyncJob.objects.filter(
            connection=connection, action="customer_funding", state=State.SYNCED
        ).exists(),
        timeout=60,
        tick=tick,
    )
    purchase = QuickBooksSandboxObject.objects.get(
        company_id=realm, entity="Purchase", data__DocNumber=transfer.reference
    )
    assert purchase.data["PaymentType"] == "Cash"
    accounts = {
        line["AccountBasedExpenseLineDetail"]["AccountRef"]["value"]
        for line in purchase.data["Line"]
    }
    assert accounts == {"95", "8"}
    assert in_sandbox(realm, "Deposit") >= 1


def test_make_runs_demo_connects_a_business_customers_books(ours, settings) -> None:
    from tests.builders import build_profile

    settings.QUICKBOOKS_SANDBOX_AUTOCONNECT = True
    acme = build_profile(legal_name=settings.QUICKBOOKS_SANDBOX_AUTOCONNECT_PROFILE)
    assert demo.sandbox_autoconnect() == 1
    assert demo.sandbox_autoconnect() == 0  # once
    connection = Connection.objects.get(provider="quickbooks")
    assert (connection.owner, connection.profile_id) == (Connection.Owner.PROFILE, acme.pk)
    assert connection.status == Connection.Status.ACTIVE
    assert services.mapping_problems(connection=connection) == []
