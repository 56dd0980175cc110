"""The QuickBooks adapter through the sync engine (job_run), against Intuit's contract over
real HTTP (intuit.py checks every body with Intuit's XSDs): one object per event after
replays and retries, and each bad input a clear error on the job, nothing posted."""

from __future__ import annotations

import pytest

from integrations.connectors.accounting.quickbooks import adapter as qbo_adapter
from integrations.connectors.accounting.quickbooks import followup, handlers
from integrations.connectors.accounting.quickbooks.followup import follow_up
from integrations.connectors.accounting.quickbooks.webhooks import Change
from integrations.errors import PermanentError
from integrations.sync import services
from integrations.sync.models import Connection, SyncJob, SyncMismatch
from tests.connectors.quickbooks.conftest import OPS, STANDIN_ROLES, qbo_books, run
from tests.connectors.quickbooks.intuit import REALM, fault

pytestmark = pytest.mark.django_db
State = SyncJob.State


def submitted(books: Connection, transfer, alice) -> dict[str, SyncJob]:
    contact = run(books, object_type="profile", object_id=str(alice.pk), action="contact")
    jobs = {"contact": contact}
    for action in handlers.PLAN.submitted:
        jobs[action] = run(
            books, object_type="transfer", object_id=transfer.reference, action=action,
            depends_on=contact,
        )  # fmt: skip
    return jobs


def test_the_company_its_currencies_and_its_whole_chart(books, intuit) -> None:
    assert (books.base_currency, books.currencies) == ("GBP", ["EUR", "GBP", "USD"])
    old = books.accounts.get(code="5")
    assert (old.type, old.status) == ("Income", "INACTIVE")  # inactive accounts listed too
    names = {r.name: r for r in qbo_adapter.roles_for(books)}
    assert names["client_money"].currency == "GBP"
    assert names["client_money:EUR"].currency == "EUR"
    assert not names["fx_position"].required


def test_an_inactive_account_in_the_mapping_stops_the_jobs_with_the_reason(
    books, intuit, alice
) -> None:
    services.mapping_set(actor=OPS, connection_id=books.pk, role="fee_revenue", account_code="5")
    job = run(books, object_type="profile", object_id=str(alice.pk), action="contact")
    assert job.state == State.FAILED
    assert job.last_error == "account mapping incomplete: fee_revenue: account 5 is inactive"
    assert intuit.writes() == []


def test_a_submitted_transfer_is_posted_once_through_replays_and_retries(
    books, intuit, alice, send
) -> None:
    transfer = send("processing", source="GBP", target="EUR")
    jobs = submitted(books, transfer, alice)
    assert {a: j.state for a, j in jobs.items()} == dict.fromkeys(jobs, State.SYNCED)
    (customer,) = intuit.of("Customer")
    assert customer["DisplayName"] == f"Alice Trading Ltd [PRF-{alice.pk}]"
    fee = next(
        j for j in intuit.of("JournalEntry") if j["DocNumber"] == f"{transfer.reference}-FEE"
    )
    receivable = fee["Line"][0]["JournalEntryLineDetail"]
    assert receivable["AccountRef"]["value"] == STANDIN_ROLES["fee_receivable"]
    assert receivable["Entity"]["EntityRef"]["value"] == customer["Id"]  # the customer owes it
    margin = next(j for j in intuit.of("JournalEntry") if j["DocNumber"].endswith("-FX"))
    assert margin["CurrencyRef"]["value"] == "EUR"
    assert margin["ExchangeRate"] > 0  # GBP per EUR, the quote's own rate, said by us
    assert jobs["fee_journal"].external_summary["entity"] == "JournalEntry"
    # Every job retried (and the contact's requestid replayed): nothing new at Intuit.
    writes = len(intuit.writes())
    services.jobs_retry(actor=OPS, jobs=SyncJob.objects.all(), reason="test")
    for job in SyncJob.objects.all():
        SyncJob.objects.filter(pk=job.pk).update(state=State.FAILED)
        services.job_retry(actor=OPS, job_id=job.pk, reason="test: again")
        services.job_run(job_id=job.pk)
    assert len(intuit.of("JournalEntry")) == 2
    assert len(intuit.of("Customer")) == 1
    assert len(intuit.writes()) == writes  # found by our reference, nothing written


def test_a_write_whose_answer_was_lost_is_found_on_retry_not_made_twice(
    books, intuit, alice
) -> None:
    intuit.lose_next_write_answer()
    job = run(books, object_type="profile", object_id=str(alice.pk), action="contact")
    assert job.state == State.RETRY_SCHEDULED
    assert "502" in job.last_error
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=job.created_at)
    services.job_run(job_id=job.pk)
    job = SyncJob.objects.get(pk=job.pk)
    assert job.state == State.SYNCED
    assert len(intuit.of("Customer")) == 1
    assert len(intuit.writes("Customer")) == 1
    assert job.external_id == intuit.of("Customer")[0]["Id"]


def test_a_currency_the_company_lacks_is_refused_before_any_call(
    books, intuit, alice, send
) -> None:
    transfer = send("processing", source="GBP", target="USD")
    Connection.objects.filter(pk=books.pk).update(currencies=["GBP", "EUR"])
    books.refresh_from_db()
    contact = run(books, object_type="profile", object_id=str(alice.pk), action="contact")
    calls = len(intuit.calls)
    job = run(books, object_type="transfer", object_id=transfer.reference,
              action="fx_margin_journal", depends_on=contact)  # fmt: skip
    assert job.state == State.FAILED
    assert job.last_error_class == "MappingError"
    assert "currency USD is not enabled in the QuickBooks company 'Alice Books'" in job.last_error
    assert len(intuit.calls) == calls  # refused before any call


def test_multicurrency_off_is_a_clear_mapping_error(intuit, alice, send) -> None:
    intuit.multicurrency = False
    books = qbo_books(intuit)
    assert books.currencies == ["GBP"]
    transfer = send("processing", source="GBP", target="EUR")
    jobs = submitted(books, transfer, alice)
    assert jobs["fee_journal"].state == State.SYNCED  # GBP, the home currency
    margin = jobs["fx_margin_journal"]
    assert margin.state == State.FAILED
    assert "currency EUR: multicurrency is off in the QuickBooks company" in margin.last_error


def test_a_deleted_customer_is_said_as_such(books, intuit, alice, send) -> None:
    transfer = send("processing", source="GBP", target="EUR")
    jobs = submitted(books, transfer, alice)
    customer_id = jobs["contact"].external_id
    intuit.edit("Customer", customer_id, Active=False)  # "deleted" in QuickBooks
    fee = SyncJob.objects.create(
        connection=books, object_type="transfer", object_id="TR-OTHER", action="fee_journal",
        depends_on=jobs["contact"],
    )  # fmt: skip
    other = send("processing", source="GBP", target="EUR")
    SyncJob.objects.filter(pk=fee.pk).update(object_id=other.reference)
    services.job_run(job_id=fee.pk)
    fee = SyncJob.objects.get(pk=fee.pk)
    assert fee.state == State.FAILED
    assert f"Customer {customer_id} of PRF-{alice.pk} is deleted (inactive)" in fee.last_error
    # A new connection to the same company: the contact look-up misses the inactive Customer,
    # the create is refused as a duplicate name, and the job says why.
    Connection.objects.filter(pk=books.pk).update(status=Connection.Status.DISCONNECTED)
    again = qbo_books(intuit)
    contact = run(again, object_type="profile", object_id=str(alice.pk), action="contact")
    assert contact.state == State.FAILED
    assert "is deleted (inactive) there: make it active again" in contact.last_error
    assert len(intuit.of("Customer")) == 1


def test_a_fault_on_create_fails_the_job_with_intuits_words(books, intuit, alice) -> None:
    intuit.fail_next(200, {"QueryResponse": {}})
    refused = fault("2500", "Invalid Reference Id",
                    "Invalid Reference Id : Accounts element id 99 not found")  # fmt: skip
    refused["Fault"]["Error"][0]["element"] = "AccountRef"
    intuit.fail_next(400, refused)
    job = run(books, object_type="profile", object_id=str(alice.pk), action="contact")
    assert job.state == State.FAILED
    assert job.last_error_class == "QuickBooksFault"
    assert job.last_error == (
        "quickbooks ValidationFault: 2500 Invalid Reference Id: Invalid Reference Id : "
        "Accounts element id 99 not found (element AccountRef)"
    )


def test_a_reconnect_to_another_company_is_refused(books, intuit) -> None:
    from urllib.parse import parse_qs, urlsplit

    connection, url = services.connection_start(actor=OPS, provider="quickbooks", profile_id=None)
    assert connection.pk == books.pk
    state = parse_qs(urlsplit(url).query)["state"][0]
    intuit.other_companies.add("999")  # the user signed in to another company
    with pytest.raises(PermanentError, match="reaches Other Books \\(999\\), not Alice Books"):
        services.connection_finish(state=state, code="c", callback={"realmId": "999"})
    assert Connection.objects.get(pk=books.pk).tenant_id == REALM


def test_webhook_changes_are_read_back_and_compared(
    books, intuit, alice, send, monkeypatch
) -> None:
    transfer = send("processing", source="GBP", target="EUR")
    jobs = submitted(books, transfer, alice)
    fee = jobs["fee_journal"]
    intuit.edit("JournalEntry", fee.external_id, TotalAmt=1)
    notes = follow_up(books, [Change(REALM, "JournalEntry", fee.external_id, "Update", None)])
    assert notes == [f"{fee}: amount differs"]
    assert SyncMismatch.objects.get(kind=SyncMismatch.Kind.AMOUNT).external_id == fee.external_id
    # A burst: one Change Data Capture call instead of a read each.
    monkeypatch.setattr(followup, "BURST", 0)
    reads = len(intuit.calls)
    change = Change(REALM, "JournalEntry", fee.external_id, "Update", None)
    assert follow_up(books, [change]) == [f"{fee}: amount differs"]
    (cdc,) = intuit.calls[reads:]
    assert cdc.path.endswith("/cdc")
    assert cdc.query["entities"] == "JournalEntry"
    assert SyncMismatch.objects.count() == 1  # said once while open


def test_the_nightly_change_check_compares_what_changed(books, intuit, alice, send) -> None:
    from integrations.connectors.accounting.quickbooks.tasks import quickbooks_reconcile

    transfer = send("processing", source="GBP", target="EUR")
    jobs = submitted(books, transfer, alice)
    assert quickbooks_reconcile() == {str(books.pk): 3}  # three objects, all consistent
    assert not SyncMismatch.objects.exists()
    intuit.edit("JournalEntry", jobs["fx_margin_journal"].external_id, TotalAmt=999)
    quickbooks_reconcile()
    mismatch = SyncMismatch.objects.get()
    assert (mismatch.kind, mismatch.object_id) == (SyncMismatch.Kind.AMOUNT, transfer.reference)


def test_daily_journal_mode_posts_one_balanced_entry_per_day_and_currency(intuit, alice) -> None:
    from django.utils import timezone

    books = qbo_books(intuit, mode=Connection.Mode.DAILY_JOURNAL)
    for role, code in (("payout_clearing", "6"), ("fx_position", "7")):
        services.mapping_set(actor=OPS, connection_id=books.pk, role=role, account_code=code)
    assert services.mapping_problems(connection=books) == []
    today = timezone.now().date().isoformat()
    gbp = run(books, object_type="journal_day", object_id=f"{today}:GBP", action="journal")
    eur = run(books, object_type="journal_day", object_id=f"{today}:EUR", action="journal")
    assert (gbp.state, eur.state) == (State.SYNCED, State.SYNCED), (gbp.last_error, eur.last_error)
    day = today.replace("-", "")
    entries = {j["DocNumber"]: j for j in intuit.of("JournalEntry")}
    assert set(entries) == {f"LJ-{day}-GBP", f"LJ-{day}-EUR"}
    assert "ExchangeRate" not in entries[f"LJ-{day}-GBP"]  # the home currency
    assert entries[f"LJ-{day}-EUR"]["ExchangeRate"] > 0  # GBP per EUR, the platform's rate


def test_a_cloudevents_change_names_the_entity_in_lower_case(books, intuit, alice, send) -> None:
    transfer = send("processing", source="GBP", target="EUR")
    fee = submitted(books, transfer, alice)["fee_journal"]
    change = Change(REALM, "journalentry", fee.external_id, "deleted", None)
    assert follow_up(books, [change]) == [f"{fee}: deleted in QuickBooks"]
    assert SyncMismatch.objects.get().kind == SyncMismatch.Kind.EXTERNAL_DELETED


def test_a_completed_transfer_pays_its_fee_and_a_refund_gives_it_back(
    books, intuit, alice, send
) -> None:
    """Completed: a Payment into client money applied to the fee journal's receivable.
    Refunded: a RefundReceipt from client money on the fee Item (made once). Each found by
    our reference on a retry, never made twice; every body Intuit's XSD accepts (the
    stand-in checks each with the oracle)."""
    transfer = send("refunded", source="GBP", target="EUR")
    jobs = submitted(books, transfer, alice)
    action, settles = handlers.PLAN.completed or ("", "")
    paid = run(books, object_type="transfer", object_id=transfer.reference, action=action,
               depends_on=jobs[settles])  # fmt: skip
    assert paid.state == State.SYNCED, paid.last_error
    (payment,) = intuit.of("Payment")
    assert payment["PaymentRefNum"] == f"{transfer.reference}-FEE-PAY"
    assert payment["Line"][0]["LinkedTxn"] == [
        {"TxnId": jobs["fee_journal"].external_id, "TxnType": "JournalEntry"}
    ]
    assert payment["CustomerRef"]["value"] == jobs["contact"].external_id
    assert payment["DepositToAccountRef"]["value"] == STANDIN_ROLES["client_money"]
    assert paid.external_summary["entity"] == "Payment"
    back = run(books, object_type="refund", object_id=transfer.reference, action="fee_reversal",
               depends_on=jobs["fee_journal"])  # fmt: skip
    assert back.state == State.SYNCED, back.last_error
    (item,) = intuit.of("Item")
    assert item["IncomeAccountRef"]["value"] == STANDIN_ROLES["fee_revenue"]
    (receipt,) = intuit.of("RefundReceipt")
    assert receipt["DocNumber"] == f"{transfer.reference}-FEE-RF"
    assert receipt["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] == item["Id"]
    assert receipt["Line"][0]["Amount"] == payment["TotalAmt"]
    assert not [j for j in intuit.of("JournalEntry") if j["DocNumber"].endswith("-FEE-REV")]
    writes = len(intuit.writes())
    for job in (paid, back):
        SyncJob.objects.filter(pk=job.pk).update(state=State.FAILED)
        services.job_retry(actor=OPS, job_id=job.pk, reason="test: again")
        services.job_run(job_id=job.pk)
    assert len(intuit.writes()) == writes  # found by our reference: nothing written


def test_a_fee_in_another_currency_than_the_customers_is_taken_from_client_money(
    books, intuit, alice, send
) -> None:
    """QuickBooks keeps one currency per Customer (here the home currency, GBP): a EUR fee
    cannot be their receivable, so it is taken from client money and no Payment is made."""
    transfer = send("completed", source="EUR", target="USD")
    jobs = submitted(books, transfer, alice)
    assert jobs["fee_journal"].state == State.SYNCED, jobs["fee_journal"].last_error
    fee = next(j for j in intuit.of("JournalEntry") if j["DocNumber"].endswith("-FEE"))
    assert (
        fee["Line"][0]["JournalEntryLineDetail"]["AccountRef"]["value"]
        == (STANDIN_ROLES["client_money"])
    )
    paid = run(books, object_type="transfer", object_id=transfer.reference, action="fee_payment",
               depends_on=jobs["fee_journal"])  # fmt: skip
    assert paid.state == State.SKIPPED
    assert "taken from client money" in paid.note
    assert intuit.of("Payment") == []


def test_the_accounting_reconcile_command_reconciles_quickbooks_too(
    books, intuit, alice, send
) -> None:
    """`manage.py accounting_reconcile` runs the nightly QuickBooks check (the task's own
    reconcile.py) beside Xero's: the changes compared, each difference a mismatch listed,
    a connection that cannot be read now said so and left for the next run."""
    from io import StringIO

    from django.core.management import call_command

    from integrations.connectors.accounting.quickbooks.tasks import quickbooks_reconcile

    def command(*args: str) -> str:
        out = StringIO()
        call_command("accounting_reconcile", *args, stdout=out)
        return out.getvalue()

    transfer = send("processing", source="GBP", target="EUR")
    jobs = submitted(books, transfer, alice)
    said = command("--provider", "quickbooks")
    assert said == f"{books}: 3 changed objects checked, 0 mismatches\n"
    intuit.edit("JournalEntry", jobs["fee_journal"].external_id, TotalAmt=999)
    said = command()  # every connector: only QuickBooks is connected here
    assert said.splitlines()[0] == f"{books}: 3 changed objects checked, 1 mismatches"
    assert "amount differs" in said.splitlines()[1]
    mismatch = SyncMismatch.objects.get()
    assert (mismatch.kind, mismatch.object_id) == (SyncMismatch.Kind.AMOUNT, transfer.reference)
    command()  # run again: the open mismatch is not repeated
    assert SyncMismatch.objects.count() == 1
    assert command("--provider", "xero") == ""
    intuit.fail_next(503)
    said = command("--provider", "quickbooks")
    assert said.startswith(f"{books}: 0 changed objects checked, 0 mismatches (not read now:")
    intuit.fail_next(503)
    assert quickbooks_reconcile() == {str(books.pk): -1}


def test_a_fee_item_posting_elsewhere_is_refused_not_used(books, intuit, alice, send) -> None:
    """An Item "Transfer fee" already in the company on another income account than the
    mapped fee_revenue: the refund's RefundReceipt is not posted, the job says both ids."""
    intuit.objects.setdefault("Item", {})["77"] = {
        "Id": "77", "Name": "Transfer fee", "Type": "Service", "Active": True,
        "IncomeAccountRef": {"value": STANDIN_ROLES["fx_margin_revenue"]}, "SyncToken": "0",
    }  # fmt: skip
    transfer = send("refunded", source="GBP", target="EUR")
    jobs = submitted(books, transfer, alice)
    back = run(books, object_type="refund", object_id=transfer.reference, action="fee_reversal",
               depends_on=jobs["fee_journal"])  # fmt: skip
    assert back.state in (State.FAILED, State.DEAD)
    assert "posts to income account 3" in back.last_error
    assert "fee_revenue is 2" in back.last_error
    assert intuit.of("RefundReceipt") == []
