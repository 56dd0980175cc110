"""The operator dashboard on the admin's index (integrations/observability/dashboard.py):
figures per corridor and state, revenue from the ledger, integration health and mismatches,
each figure a link that opens the rows behind it; each role sees only its panels; the page's
query count does not grow with the rows."""

from __future__ import annotations

import re
import uuid
from datetime import date
from html import unescape

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fintech.transfers import services
from fintech.transfers.models import Transfer
from fintech.transfers.postings import transfer_money
from integrations.inbox.scan import exception_scan
from integrations.inbox.selectors import open_q
from integrations.models import ExceptionItem, InboundWebhook, PayoutInstruction
from integrations.reconciliation.models import Mismatch
from integrations.sync.models import Connection, SyncJob
from tests.builders import build_beneficiary, build_user
from tests.transfers.conftest import ALICE, move, quote_for

pytestmark = pytest.mark.django_db

INDEX = "/admin/"


def staff(username: str, role: str):
    user = build_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def transfer_in(alice):
    beneficiaries = {
        "EUR": build_beneficiary(profile=alice, currency="EUR", holder_name="Supplier GmbH"),
        "GBP": build_beneficiary(profile=alice, currency="GBP", holder_name="Supplier Ltd"),
    }

    def make(state: str, *, source: str = "GBP", target: str = "EUR") -> Transfer:
        transfer = services.transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=quote_for(alice, source=source, target=target).pk,
            beneficiary_id=beneficiaries[target].pk,
            customer_transaction_id=f"INV-{uuid.uuid4().hex[:10]}",
        )
        return move(transfer, state)

    return make


@pytest.fixture
def world(transfer_in):
    """Alice's day: GBP->EUR two completed, one failed, one created; EUR->GBP one processing.
    A Xero connection that needs reconnecting with a failed job, a refused payout, an inbound
    event that failed, an open reconciliation mismatch."""
    transfers = {
        "completed": [transfer_in("completed"), transfer_in("completed")],
        "failed": [transfer_in("failed")],
        "created": [transfer_in("created")],
        "processing": [transfer_in("processing", source="EUR", target="GBP")],
    }
    books = Connection.objects.create(
        provider="xero",
        kind=Connection.Kind.ACCOUNTING,
        owner=Connection.Owner.PLATFORM,
        status=Connection.Status.RECONNECT_REQUIRED,
        tenant_id="t-1",
        tenant_name="Our books",
    )
    SyncJob.objects.create(
        connection=books,
        object_type="transfer",
        object_id="1",
        action="invoice",
        state=SyncJob.State.FAILED,
    )
    SyncJob.objects.create(connection=books, object_type="transfer", object_id="2", action="x")
    PayoutInstruction.objects.create(
        partner="sandbox-payout",
        transfer_id=1,
        transfer_reference="T-1",
        status=PayoutInstruction.Status.ERROR,
    )
    InboundWebhook.objects.create(
        provider="sandbox-kyc",
        signature_verdict=InboundWebhook.Verdict.VALID,
        status=InboundWebhook.Status.FAILED,
    )
    Mismatch.objects.create(
        check_name="bank_statement", key="line-1", as_of=date.today(), detail="unmatched line"
    )
    return transfers


def dashboard_of(client, user):
    client.force_login(user)
    response = client.get(INDEX)
    assert response.status_code == 200
    return response, response.context["board"]


def links_in(response) -> list[str]:
    page = response.content.decode()
    section = page[page.index('id="operator-dashboard"') : page.index('id="applications"')]
    return sorted({unescape(href) for href in re.findall(r'href="(/admin/[^"]+)"', section)})


def test_figures_per_corridor_and_state_with_volume(client, ops, world) -> None:
    _, board = dashboard_of(client, ops)
    assert board.transfers.today.text == "5"
    assert board.transfers.week.text == "5"
    corridors = {c.name: c for c in board.transfers.corridors}
    assert set(corridors) == {"GBP→EUR", "EUR→GBP"}
    gbp_eur = {f.state: f for f in corridors["GBP→EUR"].states}
    assert gbp_eur["completed"].today_count.text == "2"
    assert gbp_eur["completed"].today_volume == "500.00 GBP"
    assert gbp_eur["failed"].week_count.text == "1"
    assert corridors["GBP→EUR"].total.today_count.text == "4"
    assert corridors["GBP→EUR"].total.week_volume == "1000.00 GBP"
    assert corridors["EUR→GBP"].total.today_volume == "250.00 EUR"


def test_revenue_is_the_ledger_net_of_reversals(client, ops, world) -> None:
    _, board = dashboard_of(client, ops)
    # Fees and margin are booked on submit; the failed transfer's are reversed.
    earning = [*world["completed"], *world["processing"]]
    fees: dict[str, int] = {}
    margin: dict[str, int] = {}
    for t in earning:
        money = transfer_money(t)
        fees[t.source_currency] = fees.get(t.source_currency, 0) + t.fee_minor
        margin[t.target_currency] = margin.get(t.target_currency, 0) + money.margin_minor
    lines = {line.currency: line for line in board.revenue}
    assert set(lines) == {"GBP", "EUR"}
    gbp_fees = f"{fees['GBP'] // 100}.{fees['GBP'] % 100:02d} GBP"
    assert lines["GBP"].fees_today.text == gbp_fees
    assert lines["GBP"].fees_week.text == gbp_fees
    eur_margin = f"{margin['EUR'] // 100}.{margin['EUR'] % 100:02d} EUR"
    assert lines["EUR"].margin_today.text == eur_margin
    assert "<svg" in str(lines["GBP"].chart)


def test_health_and_mismatches(client, ops, world) -> None:
    _, board = dashboard_of(client, ops)
    rows = {(row.kind, row.name.split(" ")[0]): row for row in board.health}
    xero = rows[("Accounting", "xero")]
    assert xero.token_status == "reconnect required"
    assert (xero.errors.text, xero.backlog.text, xero.error_rate) == ("1", "1", "50 %")
    assert xero.oldest_pending is not None
    payout = rows[("Payout rail", "sandbox-payout")]
    assert payout.errors.text == "1"
    assert rows[("Inbound webhooks", "sandbox-kyc")].errors.text == "1"
    reconciliation = board.mismatches[0]
    assert (reconciliation.open.text, reconciliation.in_progress.text) == ("1", "0")


def test_every_figure_links_to_a_list_that_accepts_its_filters(client, ops, world) -> None:
    response, _ = dashboard_of(client, ops)
    links = links_in(response)
    assert len(links) > 30
    for url in links:
        page = client.get(url)
        # An unknown lookup is a 302 to ?e=1; a wrong id a 404.
        assert page.status_code == 200, url


def test_a_figure_opens_exactly_its_rows(client, ops, world) -> None:
    _, board = dashboard_of(client, ops)
    completed = next(
        f for f in board.transfers.corridors[0].states if f.state == Transfer.State.COMPLETED
    )
    listing = client.get(completed.today_count.url)
    assert listing.context["cl"].result_count == 2
    page = listing.content.decode()
    for transfer in world["completed"]:
        assert transfer.reference in page
    assert world["failed"][0].reference not in page

    xero = next(row for row in board.health if row.name.startswith("xero"))
    jobs = client.get(xero.errors.url)
    assert [job.action for job in jobs.context["cl"].result_list] == ["invoice"]

    gbp = next(line for line in board.revenue if line.currency == "GBP")
    postings = client.get(gbp.fees_today.url)
    # One fee posting per transfer that earned in GBP, and one reversal for the failed one.
    assert postings.context["cl"].result_count == 4

    mismatches = client.get(board.mismatches[0].open.url)
    assert [m.key for m in mismatches.context["cl"].result_list] == ["line-1"]


def test_support_sees_transfers_but_no_revenue_or_machinery(client, world) -> None:
    response, board = dashboard_of(client, staff("sam", "support"))
    assert board.transfers is not None
    assert board.revenue is None
    assert board.health is None
    assert board.mismatches == []
    page = response.content.decode()
    assert "dashboard-revenue" not in page
    assert "dashboard-health" not in page
    assert "Reconciliation mismatches" not in page
    assert "/admin/ledger/" not in page


def test_engineering_sees_health_but_not_money_or_jobs_it_may_not_open(client, world) -> None:
    response, board = dashboard_of(client, staff("erin", "engineering"))
    assert board.health is not None
    assert board.revenue is None
    assert board.mismatches == []
    xero = next(row for row in board.health if row.name.startswith("xero"))
    # Engineering sees connections, not the failed-sync queue (it names customers' objects):
    # the figure is there, the link is not.
    assert xero.errors.text == "1"
    assert xero.errors.url == ""
    assert "/admin/integrations/syncjob/" not in response.content.decode()
    for url in links_in(response):
        assert client.get(url).status_code == 200, url


def test_finance_sees_revenue_and_mismatches(client, world) -> None:
    _, board = dashboard_of(client, staff("fiona", "finance"))
    assert board.revenue
    assert board.transfers
    assert [m.label for m in board.mismatches] == [
        "Reconciliation mismatches",
        "Sync mismatches (accounting, CRM)",
    ]
    assert board.health is None


def test_staff_without_any_role_sees_no_numbers(client, world) -> None:
    client.force_login(build_user("nobody", is_staff=True))
    response = client.get(INDEX)
    assert response.status_code == 200
    board = response.context["board"]
    assert board.empty
    assert "dashboard-transfers" not in response.content.decode()


def test_the_query_count_does_not_grow_with_the_rows(client, ops, transfer_in) -> None:
    client.force_login(ops)
    for state in ("completed", "failed", "created"):
        transfer_in(state)
    client.get(INDEX)  # warm the session, content types and permission caches
    with CaptureQueriesContext(connection) as few:
        client.get(INDEX)
    for i in range(27):
        source, target = (("GBP", "EUR"), ("EUR", "GBP"))[i % 2]
        transfer_in(("completed", "failed", "processing")[i % 3], source=source, target=target)
    with CaptureQueriesContext(connection) as many:
        response = client.get(INDEX)
    assert response.context["board"].transfers.today.text == "30"
    assert len(many) == len(few)


def test_charts_are_inline_svg_without_script_and_cover_the_chosen_days(client, ops, world) -> None:
    client.force_login(ops)
    response = client.get(INDEX, {"days": "14"})
    board = response.context["board"]
    assert board.windows.days == 14
    page = response.content.decode()
    section = page[page.index('id="operator-dashboard"') : page.index('id="applications"')]
    assert "<svg" in section
    assert "<script" not in section
    assert "script-src" in response.headers["Content-Security-Policy"]
    # Nonsense falls back to the default window.
    assert client.get(INDEX, {"days": "9999"}).context["board"].windows.days == 30


def test_an_app_index_page_lists_its_models_without_the_dashboard(client, ops, world) -> None:
    client.force_login(ops)
    response = client.get(reverse("admin:app_list", args=["transfers"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "operator-dashboard" not in page
    assert "/admin/transfers/transfer/" in page
    assert "board" not in response.context


def test_the_index_keeps_the_application_list(client, ops) -> None:
    client.force_login(ops)
    page = client.get(INDEX).content.decode()
    assert page.index('id="operator-dashboard"') < page.index('id="applications"')
    assert reverse("admin:transfers_transfer_changelist") in page[page.index('id="applications"') :]


def test_the_inbox_panel_counts_open_exceptions_and_links_to_them(client, ops, world) -> None:
    exception_scan()
    client.force_login(ops)
    response = client.get(INDEX)
    board = response.context["board"]
    figures = {(e.source_label, e.severity): e for e in board.exceptions}
    opened = ExceptionItem.objects.filter(open_q()).count()
    assert opened > 0
    assert sum(e.count for e in board.exceptions) == opened
    for figure in figures.values():
        listed = client.get(figure.link)
        assert listed.status_code == 200, figure.link
        assert listed.context["cl"].result_count == figure.count
