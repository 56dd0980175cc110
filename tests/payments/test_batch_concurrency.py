"""A batch of 1,000 requests sent three times at once with the same Idempotency-Key (real
threads, a real server, real PostgreSQL): one batch, 1,000 requests, at most 1,000 transfers,
no ledger entry twice. And the same batch under two keys: one wins, the other is a 409."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from django.test import Client

from fintech.core.models import OutboxEvent
from fintech.payments.models import ApprovalPolicy, PaymentBatch, PaymentRequest
from fintech.payments.services.vendors import vendor_upsert
from fintech.transfers.models import Transfer
from ledger.selectors import entries_by_idempotency_keys
from tests.api.conftest import OPS, fetch_token, fund_wallet, issue_client
from tests.builders import build_profile, build_user
from tests.payments.conftest import ERP_SCOPES, EUR_VENDOR, request_body

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BATCH_SIZE = 1000


@pytest.fixture
def erp(live_server):
    owner = build_user("alice-batch")
    profile = build_profile(legal_name="Alice Trading Ltd", owner=owner)
    fund_wallet(profile, "GBP", 100_000_000)
    ApprovalPolicy.objects.create(profile=profile, approve_new_or_changed_vendors=False)
    vendor_upsert(actor=OPS, profile=profile, **EUR_VENDOR)
    issued = issue_client(profile, ERP_SCOPES, rate_limit_per_minute=1_000_000)
    token = fetch_token(Client(), issued)["access_token"]
    yield profile, {"Authorization": f"Bearer {token}", "Connection": "close"}
    connection.close()


def _batch(erp_batch_id: str) -> dict:
    return {
        "erp_batch_id": erp_batch_id,
        "requests": [
            request_body(erp_payment_id=f"PAY-{i:05d}", amount="10.00", bill_reference=f"B{i}")
            for i in range(BATCH_SIZE)
        ],
    }


def _send_until_answered(url: str, payload: dict, headers: dict) -> list[requests.Response]:
    """As an ERP retries: again after Retry-After while the key is in progress."""
    answers = []
    for _ in range(600):
        response = requests.post(url, json=payload, headers=headers, timeout=600)
        answers.append(response)
        if response.status_code != 409 or response.json()["code"] != "idempotency_key_in_progress":
            return answers
        time.sleep(0.5)
    raise AssertionError("never answered")


def test_three_concurrent_sends_with_one_key_make_one_batch(live_server, erp) -> None:
    profile, headers = erp
    url = f"{live_server.url}/api/v1/payment-request-batches"
    payload = _batch("RUN-2026-12-02")
    keyed = {**headers, "Idempotency-Key": str(uuid.uuid4())}

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(lambda _: _send_until_answered(url, payload, keyed), range(3)))
    elapsed = time.monotonic() - started

    finals = [answers[-1] for answers in runs]
    assert [r.status_code for r in finals] == [201, 201, 201], [r.text[:300] for r in finals]
    executed = [r for r in finals if r.headers.get("Idempotent-Replayed") != "true"]
    assert len(executed) == 1
    assert len({r.json()["id"] for r in finals}) == 1
    assert PaymentBatch.objects.filter(profile=profile).count() == 1
    assert PaymentRequest.objects.filter(profile=profile).count() == BATCH_SIZE
    transfers = Transfer.objects.filter(profile=profile)
    assert transfers.count() <= BATCH_SIZE
    assert transfers.count() == BATCH_SIZE  # all funded from the wallet, none refused
    # One funding entry per transfer, never two.
    keys = [f"transfer:{t.reference}:fund" for t in transfers]
    assert len(entries_by_idempotency_keys(idempotency_keys=keys)) == BATCH_SIZE
    assert (
        OutboxEvent.objects.filter(type="transfer.funded", profile_id=profile.pk).count()
        == BATCH_SIZE
    )
    assert (
        OutboxEvent.objects.filter(type="payment_request.received", profile_id=profile.pk).count()
        == BATCH_SIZE
    )
    print(f"\n{BATCH_SIZE} requests in one batch, three senders: {elapsed:.1f}s")


def test_the_same_batch_under_two_keys_is_made_once(live_server, erp) -> None:
    profile, headers = erp
    url = f"{live_server.url}/api/v1/payment-request-batches"
    payload = _batch("RUN-TWICE")
    payload["requests"] = payload["requests"][:50]

    def send(_: int) -> requests.Response:
        return requests.post(
            url, json=payload, headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            timeout=600,
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(send, range(2)))
    assert sorted(r.status_code for r in answers) == [201, 409], [r.text[:300] for r in answers]
    conflict = next(r for r in answers if r.status_code == 409).json()
    assert conflict["errors"][0]["field"] in ("erp_batch_id", "requests[0].erp_payment_id")
    assert PaymentRequest.objects.filter(profile=profile).count() == 50
    assert Transfer.objects.filter(profile=profile).count() == 50


def test_one_file_uploaded_three_times_at_once_is_one_batch(live_server, erp) -> None:
    """The same pain.001 three times concurrently, under one key and under three keys: one
    batch, its payments once (the file's MsgId and checksum are its identity)."""
    import base64

    from tests.payments.test_pain_files import pain001

    profile, headers = erp
    url = f"{live_server.url}/api/v1/payment-request-batches/files"
    data = pain001(
        "pain.001.001.09",
        [{"endtoend_id": f"F-{i}", "description": f"Invoice {i}"} for i in range(100)],
    )
    payload = {"file": base64.b64encode(data).decode(), "source_currency": "GBP"}
    one_key = {**headers, "Idempotency-Key": str(uuid.uuid4())}

    def same_key(_: int) -> list[requests.Response]:
        return _send_until_answered(url, payload, one_key)

    def own_key(_: int) -> list[requests.Response]:
        return _send_until_answered(url, payload, {**headers, "Idempotency-Key": str(uuid.uuid4())})

    with ThreadPoolExecutor(max_workers=3) as pool:
        finals = [answers[-1] for answers in pool.map(same_key, range(3))]
    assert {r.status_code for r in finals} == {201}
    batch_id = finals[0].json()["id"]
    assert {r.json()["id"] for r in finals} == {batch_id}

    with ThreadPoolExecutor(max_workers=3) as pool:
        again = [answers[-1] for answers in pool.map(own_key, range(3))]
    # Already there: the same batch (200) for each, never a second one.
    assert {r.status_code for r in again} == {200}, [r.text[:200] for r in again]
    assert {r.json()["id"] for r in again} == {batch_id}
    assert PaymentBatch.objects.filter(profile=profile).count() == 1
    assert PaymentRequest.objects.filter(profile=profile).count() == 100
    assert Transfer.objects.filter(profile=profile).count() == 100
