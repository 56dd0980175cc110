"""The QuickBooks client against Intuit's contract, over real HTTP (intuit.py validates every
body it receives with Intuit's XSDs): requestid and minorversion, faults sorted for the
engine, the refresh path, SyncTokens, void and delete, Change Data Capture."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from integrations.connectors.accounting.quickbooks import client as qbo
from integrations.connectors.accounting.quickbooks.customers import _update
from integrations.errors import PermanentError, RateLimited, ReconnectRequired, TransientError
from integrations.sync.models import Connection, SyncJob, SyncMismatch
from tests.connectors.quickbooks.intuit import fault

pytestmark = pytest.mark.django_db

JOURNAL = {
    "DocNumber": "TR-TEST-FEE",
    "TxnDate": "2026-12-01",
    "CurrencyRef": {"value": "GBP"},
    "PrivateNote": "TR-TEST-FEE: a test",
    "Line": [
        {"Description": "fee", "Amount": 1, "DetailType": "JournalEntryLineDetail",
         "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": "1"}}},
        {"Description": "fee", "Amount": 1, "DetailType": "JournalEntryLineDetail",
         "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": "2"}}},
    ],
}  # fmt: skip


def test_every_call_says_minorversion_and_every_write_its_requestid(books, intuit) -> None:
    with qbo.QuickBooksClient(books) as client:
        assert client.find_by_doc_number("JournalEntry", "TR-TEST-FEE") is None
        made = client.create("JournalEntry", JOURNAL, requestid="qbo-1")
        again = client.create("JournalEntry", JOURNAL, requestid="qbo-1")  # a retry
        with pytest.raises(PermanentError, match="every write carries a requestid"):
            client.request("POST", "journalentry", body=JOURNAL)
    assert again["Id"] == made["Id"]
    assert len(intuit.of("JournalEntry")) == 1
    assert all(c.query.get("minorversion") == "75" for c in intuit.calls)
    assert [c.query["requestid"] for c in intuit.writes()] == ["qbo-1", "qbo-1"]
    looked = "select * from JournalEntry where DocNumber = 'TR-TEST-FEE'"
    assert [c.query.get("query") for c in intuit.calls].count(looked) == 1


def test_a_job_has_one_requestid_per_write_the_same_on_every_attempt() -> None:
    assert qbo.requestid(1, 7) == qbo.requestid(1, 7)
    assert qbo.requestid(1, 7) != qbo.requestid(1, 7, "fee") != qbo.requestid(2, 7)
    assert len(qbo.requestid(1, 7)) <= 50


def test_a_validation_fault_names_its_code_message_and_detail(books, intuit) -> None:
    bad = {**JOURNAL, "Line": JOURNAL["Line"][:1]}  # debits without credits
    with qbo.QuickBooksClient(books) as client, pytest.raises(qbo.QuickBooksFault) as refused:
        client.create("JournalEntry", bad, requestid="qbo-2")
    assert not refused.value.transient
    assert refused.value.message.startswith("quickbooks ValidationFault: 2020 Required param")
    assert "debits 1 <> credits 0" in refused.value.message


def test_throttling_waits_for_the_whole_connection(books, intuit) -> None:
    throttled = {"fault": {"error": [{"message": "message=ThrottleExceeded; errorCode=003001",
                 "detail": "The request limit was reached.", "code": "3001"}],
                 "type": "SERVICE"}}  # fmt: skip
    intuit.fail_next(429, throttled, **{"Retry-After": "30"})
    with qbo.QuickBooksClient(books) as client, pytest.raises(RateLimited) as waited:
        client.query("select * from Customer")
    assert waited.value.retry_after_seconds == 30
    blocked = Connection.objects.get(pk=books.pk).blocked_until
    assert blocked is not None
    assert blocked > timezone.now() + timedelta(seconds=25)
    # A ThrottleExceeded Fault without a 429 is the same.
    Connection.objects.filter(pk=books.pk).update(blocked_until=None)
    intuit.fail_next(200, fault("003001", "ThrottleExceeded", kind="ThrottleExceeded"))
    with qbo.QuickBooksClient(books) as client, pytest.raises(RateLimited):
        client.query("select * from Customer")


def test_server_errors_are_transient(books, intuit) -> None:
    intuit.fail_next(503, fault("10000", "An application error has occurred", kind="SystemFault"))
    with qbo.QuickBooksClient(books) as client, pytest.raises(TransientError) as failed:
        client.query("select * from Customer")
    assert "503" in failed.value.message
    assert "10000" in failed.value.message


def test_a_refused_token_is_refreshed_once_and_the_rotated_one_stored(books, intuit) -> None:
    intuit.fail_next(401, fault("3200", "AuthenticationFailed", kind="AuthenticationFault"))
    with qbo.QuickBooksClient(books) as client:
        assert client.query("select * from Customer") == {}
    connection = Connection.objects.get(pk=books.pk)
    assert connection.refresh_token != "rt-first"  # rotated, stored before use
    assert intuit.refresh_tokens["rt-first"] is False
    assert intuit.refresh_tokens[connection.refresh_token] is True


def test_a_refused_refresh_asks_for_a_reconnect(books, intuit) -> None:
    intuit.refresh_tokens["rt-first"] = False  # revoked at Intuit
    Connection.objects.filter(pk=books.pk).update(token_expires_at=timezone.now())
    with qbo.QuickBooksClient(books) as client, pytest.raises(ReconnectRequired):
        client.query("select * from Customer")
    connection = Connection.objects.get(pk=books.pk)
    assert connection.status == Connection.Status.RECONNECT_REQUIRED
    assert "invalid_grant" in connection.status_reason


def test_a_stale_synctoken_is_a_conflict_not_an_overwrite(books, intuit) -> None:
    with qbo.QuickBooksClient(books) as client:
        made = client.create(
            "Customer", {"CompanyName": "Alice", "DisplayName": "Alice [PRF-1]"}, requestid="c1"
        )
        intuit.edit("Customer", made["Id"], CompanyName="Alice (edited in QuickBooks)")
        job = SyncJob.objects.create(
            connection=books, object_type="profile", object_id="1", action="contact"
        )
        with pytest.raises(PermanentError, match="stale SyncToken 0, now 1"):
            _update(client, job, made, {"CompanyName": "Alice Trading Ltd"})
        assert intuit.objects["Customer"][made["Id"]]["CompanyName"] == (
            "Alice (edited in QuickBooks)"
        )
        mismatch = SyncMismatch.objects.get(kind=SyncMismatch.Kind.EXTERNAL_CHANGED)
        assert mismatch.theirs["CompanyName"] == "Alice (edited in QuickBooks)"
        assert mismatch.ours == {"CompanyName": "Alice Trading Ltd"}
        # Someone made our change meanwhile: nothing to resolve, no write.
        writes = len(intuit.writes())
        current = _update(client, job, made, {"CompanyName": "Alice (edited in QuickBooks)"})
        assert current["SyncToken"] == "1"
        assert len(intuit.writes()) == writes + 1  # the refused try only


def test_void_delete_read_and_change_data_capture(books, intuit) -> None:
    with qbo.QuickBooksClient(books) as client:
        made = client.create("JournalEntry", JOURNAL, requestid="qbo-3")
        voided = client.void(
            "JournalEntry", entity_id=made["Id"], sync_token="0", requestid="qbo-4"
        )
        assert voided["SyncToken"] == "1"
        with pytest.raises(qbo.StaleObject):
            client.delete("JournalEntry", entity_id=made["Id"], sync_token="0", requestid="qbo-5")
        client.delete("JournalEntry", entity_id=made["Id"], sync_token="1", requestid="qbo-6")
        assert client.read("JournalEntry", made["Id"]) is None
        client.create("JournalEntry", {**JOURNAL, "DocNumber": "TR-2-FEE"}, requestid="qbo-7")
        changed = client.cdc(["JournalEntry", "Customer"], changed_since=timezone.now())
    assert [j["DocNumber"] for j in changed["JournalEntry"]] == ["TR-2-FEE"]
    cdc = next(c for c in intuit.calls if c.path.endswith("/cdc"))
    assert cdc.query["entities"] == "Customer,JournalEntry"
    assert "changedSince" in cdc.query


@given(
    jobs=st.lists(
        st.tuples(st.integers(1, 10**9), st.integers(1, 10**9), st.text(max_size=30)),
        min_size=2,
        max_size=20,
        unique=True,
    )
)
def test_requestids_are_stable_distinct_and_fit_intuits_limit(jobs) -> None:
    ids = [qbo.requestid(connection, job, step) for connection, job, step in jobs]
    assert ids == [qbo.requestid(c, j, s) for c, j, s in jobs]  # every attempt the same
    assert len(set(ids)) == len(ids)  # each write its own
    assert all(len(i) <= 50 for i in ids)
