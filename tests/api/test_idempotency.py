"""Idempotency-Key: replay, 422 on another body, 400 when missing, nothing stored for requests
refused before they run, and one transfer for many concurrent retries."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import Application

from fintech.api.idempotency import advisory_lock_id
from fintech.api.models import IdempotencyRecord
from fintech.api.scopes import QUOTES_WRITE
from fintech.api.services import idempotency_purge
from fintech.api.tasks import idempotency_purge_task
from fintech.api.views import quotes as quote_views
from fintech.core.errors import NotFound
from fintech.core.models import OutboxEvent
from fintech.quotes.models import Quote
from fintech.transfers.models import Transfer, TransferTransition
from fintech.wallets.selectors import profile_wallet_balances
from ledger.selectors import entry_by_idempotency_key
from tests.api.conftest import api_for, create_quote, fetch_token, fund_wallet, issue_client
from tests.builders import build_beneficiary, build_profile, build_user

ALICE = "Alice Trading Ltd"
QUOTE = {"source_currency": "GBP", "target_currency": "EUR", "source_amount": "250.00"}


def body(response) -> dict:
    return json.loads(response.content)


@pytest.mark.django_db
class TestReplay:
    def test_same_key_same_body_replays_the_stored_response(self, alice_api, alice) -> None:
        first = alice_api.post("/quotes", QUOTE, key="quote-1")
        second = alice_api.post("/quotes", QUOTE, key="quote-1")
        assert first.status_code == second.status_code == 201
        assert body(second) == body(first)
        assert second["Idempotent-Replayed"] == "true"
        assert second["Location"] == first["Location"]
        assert not first.has_header("Idempotent-Replayed")
        assert Quote.objects.filter(profile__legal_name=ALICE).count() == 1
        assert OutboxEvent.objects.filter(type="quote.created", profile_id=alice.pk).count() == 1

    def test_key_order_and_spacing_do_not_change_the_body(self, alice_api) -> None:
        alice_api.post("/quotes", QUOTE, key="k")
        reordered = json.dumps(dict(reversed(list(QUOTE.items()))), indent=2)
        replay = alice_api.post("/quotes", raw=reordered, key="k")
        assert replay["Idempotent-Replayed"] == "true"

    def test_same_key_other_body_is_422(self, alice_api) -> None:
        alice_api.post("/quotes", QUOTE, key="k")
        other = alice_api.post("/quotes", {**QUOTE, "source_amount": "251.00"}, key="k")
        assert other.status_code == 422
        assert body(other)["code"] == "idempotency_key_reused"
        assert Quote.objects.filter(profile__legal_name=ALICE).count() == 1

    def test_same_key_on_another_endpoint_is_422(self, alice_api, alice) -> None:
        quote = create_quote(alice_api)
        alice_api.post("/quotes", QUOTE, key="k")
        other = alice_api.post(
            "/transfers",
            {"quote_id": quote["id"], "beneficiary_id": 1, "customer_transaction_id": "x"},
            key="k",
        )
        assert other.status_code == 422

    def test_keys_are_per_application(self, client, alice, alice_api) -> None:
        other_app = api_for(client, issue_client(alice, [QUOTES_WRITE]))
        alice_api.post("/quotes", QUOTE, key="shared-key")
        response = other_app.post("/quotes", QUOTE, key="shared-key")
        assert response.status_code == 201
        assert not response.has_header("Idempotent-Replayed")
        assert Quote.objects.filter(profile__legal_name=ALICE).count() == 2

    def test_a_stored_error_outcome_is_replayed(self, alice_api, alice) -> None:
        quote = create_quote(alice_api)
        gbp = build_beneficiary(profile=alice, currency="GBP")  # wrong currency: a 400
        eur = build_beneficiary(profile=alice, currency="EUR")
        request = {
            "quote_id": quote["id"],
            "beneficiary_id": eur.pk,
            "customer_transaction_id": "A",
        }
        assert alice_api.post("/transfers", request, key="t-1").status_code == 201
        # The quote is now used: a second transfer from it is a 409, stored under its key.
        conflict = alice_api.post(
            "/transfers", {**request, "customer_transaction_id": "B"}, key="t-2"
        )
        assert conflict.status_code == 409
        replay = alice_api.post(
            "/transfers", {**request, "customer_transaction_id": "B"}, key="t-2"
        )
        assert replay.status_code == 409
        assert replay["Idempotent-Replayed"] == "true"
        assert replay["Content-Type"] == "application/problem+json"
        assert gbp.pk != eur.pk


@pytest.mark.django_db
class TestNotStored:
    def test_missing_key_is_400_naming_the_header(self, alice_api) -> None:
        response = alice_api.post("/quotes", QUOTE, key=None)
        assert response.status_code == 400
        assert body(response)["code"] == "idempotency_key_missing"
        assert body(response)["errors"][0]["field"] == "Idempotency-Key"
        assert not Quote.objects.filter(profile__legal_name=ALICE).exists()

    def test_an_unusable_key_is_400(self, alice_api) -> None:
        response = alice_api.post("/quotes", QUOTE, key="x" * 256)
        assert response.status_code == 400
        assert body(response)["code"] == "idempotency_key_invalid"

    def test_a_400_is_not_stored_so_the_fixed_request_runs(self, alice_api) -> None:
        bad = alice_api.post("/quotes", {**QUOTE, "source_amount": "1.001"}, key="k")
        assert bad.status_code == 400
        assert not IdempotencyRecord.objects.exists()
        fixed = alice_api.post("/quotes", QUOTE, key="k")
        assert fixed.status_code == 201
        assert not fixed.has_header("Idempotent-Replayed")

    def test_a_401_is_not_stored(self, alice_api, client) -> None:
        response = client.post(
            "/api/v1/quotes",
            json.dumps(QUOTE),
            content_type="application/json",
            HTTP_AUTHORIZATION="Bearer wrong",
            HTTP_IDEMPOTENCY_KEY="k",
        )
        assert response.status_code == 401
        assert not IdempotencyRecord.objects.exists()
        assert alice_api.post("/quotes", QUOTE, key="k").status_code == 201

    def test_a_403_is_not_stored(self, client, alice) -> None:
        issued = issue_client(alice, [QUOTES_WRITE])
        read_only = api_for(client, issued, scope=QUOTES_WRITE)
        beneficiary = {
            "holder_name": "X",
            "currency": "GBP",
            "country": "GB",
            "scheme": "gb_sort_code",
            "details": {"sort_code": "404784", "account_number": "70872490"},
        }
        response = read_only.post("/beneficiaries", beneficiary, key="k")
        assert response.status_code == 403
        assert not IdempotencyRecord.objects.exists()

    def test_a_compliance_403_is_not_stored(self, bob_api, bob) -> None:
        quote = create_quote(bob_api)
        beneficiary = build_beneficiary(profile=bob, currency="EUR")
        request = {
            "quote_id": quote["id"],
            "beneficiary_id": beneficiary.pk,
            "customer_transaction_id": "A",
        }
        response = bob_api.post("/transfers", request, key="k")
        assert response.status_code == 403
        assert body(response)["code"] == "compliance_blocked"
        assert not IdempotencyRecord.objects.filter(key="k").exists()


def _other_connection() -> psycopg.Connection:
    """A second session on the test database, as another web process would have."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


@pytest.mark.django_db
class TestInProgress:
    def test_a_key_held_by_a_running_request_is_409_with_retry_after(
        self, alice_api, alice_client
    ) -> None:
        application_id = Application.objects.get(client_id=alice_client.client_id).pk
        with _other_connection() as other:
            # Another process is running a request with this key: it holds the key's lock.
            other.execute("SELECT pg_advisory_lock(%s)", [advisory_lock_id(application_id, "k")])
            response = alice_api.post("/quotes", QUOTE, key="k")
            assert response.status_code == 409
            assert body(response)["code"] == "idempotency_key_in_progress"
            assert response["Retry-After"] == "1"
            assert not IdempotencyRecord.objects.filter(key="k").exists()
            # Other keys of the same application are not held up.
            assert alice_api.post("/quotes", QUOTE, key="k2").status_code == 201
        # The other request ended (here: its session did): the key runs normally.
        response = alice_api.post("/quotes", QUOTE, key="k")
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response


@pytest.mark.django_db(transaction=True)
def test_a_key_stored_after_our_read_is_replayed_and_our_run_undone(
    alice, alice_client, monkeypatch
) -> None:
    """The lock-and-read statement takes its snapshot a moment before it takes the lock; a
    request that stored the key in that moment is caught by the unique key at our store: our
    run is rolled back and the stored response replayed."""
    api = api_for(Client(), alice_client)
    assert api.post("/quotes", QUOTE, key="probe").status_code == 201
    probe = IdempotencyRecord.objects.get(key="probe")
    real = quote_views.quote_create

    def create_while_another_request_stores_the_key(**kwargs):
        quote = real(**kwargs)

        def other_request() -> None:
            try:
                IdempotencyRecord.objects.create(
                    application_id=probe.application_id,
                    key="k",
                    fingerprint=probe.fingerprint,  # same method, path and body
                    method="POST",
                    path=probe.path,
                    response_status=201,
                    response_headers={"Content-Type": "application/json"},
                    response_body='{"id": "from-the-other-request"}',
                )
            finally:
                connections.close_all()

        thread = threading.Thread(target=other_request)  # its own connection: committed
        thread.start()
        thread.join(timeout=30)
        return quote

    monkeypatch.setattr(quote_views, "quote_create", create_while_another_request_stores_the_key)
    response = api.post("/quotes", QUOTE, key="k")
    assert response.status_code == 201
    assert response["Idempotent-Replayed"] == "true"
    assert body(response) == {"id": "from-the-other-request"}
    assert Quote.objects.filter(profile=alice).count() == 1  # the probe's; ours was undone


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_that_takes_the_key_while_a_failed_run_unwinds_owns_it(
    alice, alice_client, monkeypatch
) -> None:
    """A run that fails with a stored outcome (here 404) is rolled back, which releases the
    key, and stores its outcome taking the key again. A duplicate waiting for the key gets it
    in between: the key is the duplicate's, so the failed request answers as a duplicate
    would (409) and stores nothing."""
    api = api_for(Client(), alice_client)
    application_id = Application.objects.get(client_id=alice_client.client_id).pk
    lock_id = advisory_lock_id(application_id, "k")
    acquired, finish = threading.Event(), threading.Event()
    duplicate_pid: list[int] = []

    def duplicate() -> None:
        with _other_connection() as other:
            duplicate_pid.append(other.execute("SELECT pg_backend_pid()").fetchone()[0])
            other.execute("SELECT pg_advisory_lock(%s)", [lock_id])  # waits for our run
            acquired.set()
            finish.wait(timeout=30)

    other_request = threading.Thread(target=duplicate)

    def quote_create_refusing_while_a_duplicate_waits(**kwargs):
        other_request.start()
        # Until the duplicate waits on the key's lock: its own session's lock request, not any
        # ungranted lock in the cluster (other test processes share the server).
        for _ in range(1000):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'advisory' "
                    "AND pid = %s",
                    [duplicate_pid[0] if duplicate_pid else -1],
                )
                if cursor.fetchone()[0]:
                    break
            time.sleep(0.01)
        raise NotFound("no rate for this pair today")

    monkeypatch.setattr(quote_views, "quote_create", quote_create_refusing_while_a_duplicate_waits)
    try:
        response = api.post("/quotes", QUOTE, key="k")
        assert acquired.is_set()
        assert response.status_code == 409
        assert body(response)["code"] == "idempotency_key_in_progress"
        assert not IdempotencyRecord.objects.filter(key="k").exists()
    finally:
        finish.set()
        other_request.join(timeout=30)
    monkeypatch.undo()
    # The duplicate ended without storing anything (it died, say): the key runs afresh.
    response = api.post("/quotes", QUOTE, key="k")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_request_that_dies_midway_leaves_nothing_and_its_retry_runs(alice, alice_client) -> None:
    """A web process killed after the quote's INSERT, before its commit: no quote, no stored
    key, no lock left behind; the client's retry with the same key creates the quote once."""
    token = fetch_token(Client(), alice_client)["access_token"]
    script = textwrap.dedent(
        f"""
        import os, django
        django.setup()
        from django.test import Client
        from fintech.api.views import quotes
        real = quotes.quote_create

        def create_then_die(**kwargs):
            real(**kwargs)  # the quote row, audit row and event are written...
            os._exit(3)  # ...and the process dies before the transaction commits

        quotes.quote_create = create_then_die
        Client().post(
            "/api/v1/quotes", {QUOTE!r}, content_type="application/json",
            HTTP_AUTHORIZATION="Bearer {token}", HTTP_IDEMPOTENCY_KEY="crash-key",
        )
        """
    )
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}:{database['PASSWORD'] or ''}"
        f"@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}",
        "DJANGO_SETTINGS_MODULE": "fintech.settings",
    }
    died = subprocess.run([sys.executable, "-c", script], env=env, timeout=120, check=False)
    assert died.returncode == 3
    assert not Quote.objects.filter(profile=alice).exists()
    assert not IdempotencyRecord.objects.filter(key="crash-key").exists()

    retry = api_for(Client(), alice_client).post("/quotes", QUOTE, key="crash-key")
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry
    assert Quote.objects.filter(profile=alice).count() == 1
    assert (
        api_for(Client(), alice_client).post("/quotes", QUOTE, key="crash-key")[
            "Idempotent-Replayed"
        ]
        == "true"
    )
    assert Quote.objects.filter(profile=alice).count() == 1


@pytest.mark.django_db
def test_purge_keeps_keys_for_the_ttl(alice_api, settings) -> None:
    alice_api.post("/quotes", QUOTE, key="old")
    alice_api.post("/quotes", QUOTE, key="new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now()
        - dt.timedelta(hours=settings.API_IDEMPOTENCY_TTL_HOURS, minutes=1)
    )
    IdempotencyRecord.objects.filter(key="new").update(
        created_at=timezone.now() - dt.timedelta(hours=settings.API_IDEMPOTENCY_TTL_HOURS - 1)
    )
    assert idempotency_purge_task.name == "api.idempotency_purge"
    assert idempotency_purge_task() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert idempotency_purge() == 0


@pytest.mark.django_db
def test_purge_is_scheduled_by_beat() -> None:
    # Through the migration's own function: a transactional test elsewhere may have flushed
    # the rows the migration made.
    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    migration = importlib.import_module("fintech.api.migrations.0002_purge_schedules")
    PeriodicTask.objects.filter(task__startswith="api.").delete()
    migration.create_schedules(apps, None)
    migration.create_schedules(apps, None)  # idempotent
    task = PeriodicTask.objects.get(task="api.idempotency_purge")
    assert task.enabled
    assert task.crontab.hour == "*"


# ------------------------------------------------------------------ concurrency (real server)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_retries_make_one_transfer(live_server) -> None:
    user = build_user("alice-concurrency")
    profile = build_profile(legal_name="Alice Trading Ltd", owner=user)
    fund_wallet(profile, "GBP", 1_000_000)  # funding the transfer debits the wallet
    issued = issue_client(profile)

    token = fetch_token(Client(), issued)["access_token"]
    # Connection: close, so each server thread (and its database connection) ends with its
    # response; the shared PostgreSQL allows only so many connections.
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    quote = requests.post(
        f"{live_server.url}/api/v1/quotes",
        json=QUOTE,
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    ).json()
    beneficiary = build_beneficiary(profile=profile, currency="EUR")
    request = {
        "quote_id": quote["id"],
        "beneficiary_id": beneficiary.pk,
        "customer_transaction_id": "INV-50",
    }
    key = str(uuid.uuid4())

    def send(_: int) -> requests.Response:
        return requests.post(
            f"{live_server.url}/api/v1/transfers",
            json=request,
            headers={**headers, "Idempotency-Key": key},
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(send, range(50)))

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201]
    executed = [r for r in created if r.headers.get("Idempotent-Replayed") != "true"]
    assert len(executed) == 1
    assert {r.json()["id"] for r in created} == {executed[0].json()["id"]}
    for conflict in (r for r in responses if r.status_code == 409):
        assert conflict.json()["code"] == "idempotency_key_in_progress"
        assert conflict.headers["Retry-After"]
    assert Transfer.objects.filter(profile=profile).count() == 1
    assert OutboxEvent.objects.filter(type="transfer.initiated", profile_id=profile.pk).count() == 1
    assert IdempotencyRecord.objects.get(key=key).response_status == 201
    # A retry after the dust settles replays the one transfer.
    replay = send(0)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == executed[0].json()["id"]

    # The same for the money-moving step: 50 concurrent funds with one key fund it once.
    transfer_id = executed[0].json()["id"]
    fund_key = str(uuid.uuid4())

    def fund(_: int) -> requests.Response:
        return requests.post(
            f"{live_server.url}/api/v1/transfers/{transfer_id}/fund",
            headers={**headers, "Idempotency-Key": fund_key},
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        funds = list(pool.map(fund, range(50)))
    assert {r.status_code for r in funds} <= {200, 409}
    assert [r.json()["state"] for r in funds if r.status_code == 200].count("funded") >= 1
    assert (
        TransferTransition.objects.filter(transfer_id=transfer_id, transition="fund").count() == 1
    )
    assert OutboxEvent.objects.filter(type="transfer.funded", profile_id=profile.pk).count() == 1
    # One ledger entry: the wallet was debited exactly once.
    reference = Transfer.objects.get(pk=transfer_id).reference
    assert entry_by_idempotency_key(idempotency_key=f"transfer:{reference}:fund") is not None
    wallet = profile_wallet_balances(profile=profile)["GBP"]
    assert (
        wallet.posted_minor == 1_000_000 - Transfer.objects.get(pk=transfer_id).source_amount_minor
    )
    connection.close()


def test_stored_responses_are_encrypted_at_rest(alice_api) -> None:
    quote = create_quote(alice_api)
    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM api_idempotencyrecord")
        raw = [row[0] for row in cursor.fetchall()]
    assert raw
    assert all(quote["id"] not in (body or "") for body in raw)
    stored = IdempotencyRecord.objects.get(response_status=201)
    assert json.loads(stored.response_body)["id"] == quote["id"]
