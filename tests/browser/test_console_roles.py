"""Each role signs in with its second factor and walks the console in a real browser: the
dashboard, the exception inbox, a transfer's timeline and a transition, a failed sync retried,
a webhook delivery redelivered, a KYC decision, the ledger statement; and what it may not
open answers 403 or 404, never the data.

People: sam (support), cora (compliance), fiona (finance), eddie (engineering), ada (admin);
alice (verified business, flagged for a compliance review) and bob (KYC pending) are the
customers whose story they work on."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from fintech.compliance.models import ComplianceStatus
from fintech.compliance.services import compliance_flag_review
from fintech.core.services import Actor
from fintech.transfers import services as transfers
from fintech.transfers.models import Transfer
from fintech.wallets.selectors import wallet_owner
from integrations.inbox.scan import exception_scan
from integrations.models import ExceptionItem, WebhookDelivery
from integrations.sync.models import Connection, SyncJob
from ledger.chart import wallet_account
from tests.browser.conftest import refused, sign_in, staff_member
from tests.builders import build_beneficiary
from tests.integrations.test_exception_inbox import exhausted_delivery
from tests.transfers.conftest import ALICE, move, quote_for

pytestmark = [pytest.mark.django_db(transaction=True)]

OPS = Actor.system("browser-test")
S = ExceptionItem.Source
INBOX = reverse("admin:integrations_exceptionitem_changelist")
SYNC_JOBS = reverse("admin:integrations_syncjob_changelist")
DELIVERIES = reverse("admin:integrations_webhookdelivery_changelist")
KYC = reverse("admin:compliance_compliancestatus_changelist")
PROFILES = reverse("admin:customers_profile_changelist")
TIMELINE = "#transitions-group"  # the transfer page's inline of its transitions


@dataclass
class World:
    transfer: Transfer  # funded: finance may submit it
    job: SyncJob  # failed: finance may retry it
    delivery: WebhookDelivery  # exhausted: engineering may redeliver it
    bob_kyc: ComplianceStatus  # pending: compliance decides
    statement_url: str  # alice's GBP wallet
    items: dict[str, ExceptionItem]  # the inbox, by source

    def transfer_url(self) -> str:
        return reverse("admin:transfers_transfer_change", args=[self.transfer.pk])

    def transition_url(self, action: str) -> str:
        return reverse("admin:transfers_transfer_transition", args=[self.transfer.pk, action])

    def item_url(self, source: str) -> str:
        return reverse("admin:integrations_exceptionitem_change", args=[self.items[source].pk])


@pytest.fixture
def world(alice, bob) -> World:
    """Built through the services where they exist, as in production; then the inbox scan."""
    beneficiary = build_beneficiary(profile=alice, currency="EUR", holder_name="Lieferant GmbH")
    transfer = move(
        transfers.transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=quote_for(alice).pk,
            beneficiary_id=beneficiary.pk,
            customer_transaction_id=f"INV-{uuid.uuid4().hex[:10]}",
        ),
        "funded",
    )
    books = Connection.objects.create(
        provider="xero", owner=Connection.Owner.PLATFORM, name="Platform books"
    )
    job = SyncJob.objects.create(
        connection=books,
        object_type="transfer",
        object_id=transfer.reference,
        action="invoice",
        state=SyncJob.State.FAILED,
        last_error="400 ValidationException: Account code 200 is archived",
    )
    delivery = exhausted_delivery(alice)
    compliance_flag_review(actor=OPS, status=alice.compliance, reason="structuring pattern")
    exception_scan()
    gbp = wallet_account(owner=wallet_owner(alice), currency="GBP")
    return World(
        transfer=transfer,
        job=job,
        delivery=delivery,
        bob_kyc=bob.compliance,
        statement_url=reverse("admin:ledger_account_statement", args=[gbp.pk]),
        items={item.source: item for item in ExceptionItem.objects.all()},
    )


# --- what each screen shows ----------------------------------------------------------------------


def dashboard_panels(page: Page) -> set[str]:
    page.goto("/admin/")
    page.wait_for_selector("#operator-dashboard")
    expect(page.locator("#environment-banner")).to_be_visible()
    ids = page.locator("#operator-dashboard section[id]").evaluate_all(
        "sections => sections.map(s => s.id)"
    )
    return set(ids)


def inbox_titles(page: Page) -> str:
    page.goto(INBOX + "?status=all")
    page.wait_for_selector("#changelist")
    return page.locator("#changelist").inner_text()


def act_on_rows(page: Page, list_url: str, pk: int, action: str) -> None:
    """Tick one row of an admin list, choose an action, Go."""
    page.goto(list_url)
    page.check(f'input.action-select[value="{pk}"]')
    page.select_option('select[name="action"]', action)
    page.click('button[name="index"]')
    page.wait_for_load_state()


def give_reason(page: Page, reason: str) -> None:
    """The confirmation page every money or compliance action asks for."""
    page.fill("#id_reason", reason)
    page.click('input[type="submit"].default')
    page.wait_for_selector("ul.messagelist")


def actions_offered(page: Page, list_url: str) -> list[str]:
    page.goto(list_url)
    page.wait_for_selector("#changelist")
    return page.locator('select[name="action"] option').evaluate_all(
        "options => options.map(o => o.value)"
    )


# --- the roles -----------------------------------------------------------------------------------


def test_support_sees_the_customers_story_and_changes_nothing(open_page, world) -> None:
    sam, device = staff_member("sam", "support")
    page = open_page()
    sign_in(page, sam.username, device)

    panels = dashboard_panels(page)
    assert "dashboard-transfers" in panels
    assert not {"dashboard-revenue", "dashboard-health"} & panels

    inbox = inbox_titles(page)
    assert world.items[S.COMPLIANCE_REVIEW].title in inbox
    assert world.items[S.SYNC_JOB].title not in inbox
    assert world.items[S.WEBHOOK_DELIVERY].title not in inbox

    # The transfer's timeline, without a single button that moves it.
    page.goto(world.transfer_url())
    expect(page.locator(TIMELINE)).to_contain_text("test: fund")
    expect(page.locator("a.transition-button")).to_have_count(0)
    # The KYC list, without the decisions.
    assert not {"verify", "reject"} & set(actions_offered(page, KYC))

    refused(page, world.transition_url("submit"), "Its state will go from")
    refused(page, world.item_url(S.SYNC_JOB), world.items[S.SYNC_JOB].title)
    refused(page, SYNC_JOBS, world.job.last_error)
    refused(page, DELIVERIES, world.delivery.webhook_id)
    refused(page, world.statement_url, "wallet funding")
    refused(page, reverse("admin:two-factor-reset", args=[sam.pk]))
    world.transfer.refresh_from_db()
    assert world.transfer.state == "funded"


def test_compliance_decides_a_kyc_case_and_nothing_else(open_page, world) -> None:
    cora, device = staff_member("cora", "compliance")
    page = open_page()
    sign_in(page, cora.username, device)

    assert "dashboard-revenue" not in dashboard_panels(page)
    assert world.items[S.COMPLIANCE_REVIEW].title in inbox_titles(page)

    act_on_rows(page, KYC, world.bob_kyc.pk, "reject")
    expect(page.locator("#content")).to_contain_text("Bob Example")  # the confirmation page
    give_reason(page, "passport expired")
    expect(page.locator("ul.messagelist")).to_contain_text("Bob Example: rejected.")
    world.bob_kyc.refresh_from_db()
    assert world.bob_kyc.state == "rejected"

    page.goto(world.transfer_url())
    expect(page.locator("a.transition-button")).to_have_count(0)
    refused(page, world.transition_url("cancel"))
    refused(page, world.statement_url, "wallet funding")
    refused(page, SYNC_JOBS, world.job.last_error)


def test_finance_moves_a_transfer_retries_a_sync_and_reads_the_statement(open_page, world) -> None:
    fiona, device = staff_member("fiona", "finance")
    page = open_page()
    sign_in(page, fiona.username, device)

    panels = dashboard_panels(page)
    assert {"dashboard-transfers", "dashboard-revenue"} <= panels

    # The inbox names the failed sync and links to the row that fixes it.
    inbox = inbox_titles(page)
    assert world.items[S.SYNC_JOB].title in inbox
    assert world.items[S.WEBHOOK_DELIVERY].title not in inbox
    page.get_by_role("link", name=world.items[S.SYNC_JOB].title).click()
    page.wait_for_url(re.compile(rf"/admin/integrations/syncjob/{world.job.pk}/"))

    # A transition: the button, the reason, the service; the timeline says so.
    page.goto(world.transfer_url())
    expect(page.locator(TIMELINE)).to_contain_text("test: fund")
    page.click('a.transition-button[data-action="submit"]')
    expect(page.locator("#content-main")).to_contain_text("processing")
    give_reason(page, "cut-off reached")
    expect(page.locator("ul.messagelist")).to_contain_text("is now processing")
    expect(page.locator(TIMELINE)).to_contain_text("cut-off reached")
    world.transfer.refresh_from_db()
    assert world.transfer.state == "processing"

    # The failed sync, retried with a reason.
    act_on_rows(page, SYNC_JOBS, world.job.pk, "retry")
    give_reason(page, "account code 200 restored in Xero")
    expect(page.locator("ul.messagelist")).to_contain_text("queued again")
    job = SyncJob.objects.get(pk=world.job.pk)  # (its state field refuses a refresh in place)
    assert (job.state, job.attempts) == ("pending", 0)

    # The ledger statement: alice's GBP wallet with its running balance.
    page.goto(world.statement_url)
    expect(page.locator("#statement")).to_contain_text("wallet funding")
    expect(page.locator("#statement .closing")).not_to_be_empty()

    assert "reject" not in actions_offered(page, KYC)
    refused(page, DELIVERIES, world.delivery.webhook_id)
    refused(page, world.item_url(S.WEBHOOK_DELIVERY), world.items[S.WEBHOOK_DELIVERY].title)


def test_engineering_redelivers_a_webhook_and_sees_no_customer_data(open_page, world) -> None:
    eddie, device = staff_member("eddie", "engineering")
    page = open_page()
    sign_in(page, eddie.username, device)

    panels = dashboard_panels(page)
    assert "dashboard-health" in panels
    assert "dashboard-revenue" not in panels

    inbox = inbox_titles(page)
    assert world.items[S.WEBHOOK_DELIVERY].title in inbox
    assert world.items[S.COMPLIANCE_REVIEW].title not in inbox
    assert world.items[S.SYNC_JOB].title not in inbox

    act_on_rows(page, DELIVERIES, world.delivery.pk, "redeliver")
    expect(page.locator("ul.messagelist")).to_contain_text("1 delivery(ies) queued.")
    world.delivery.refresh_from_db()
    assert world.delivery.status == WebhookDelivery.Status.PENDING

    refused(page, world.item_url(S.COMPLIANCE_REVIEW), "Alice Trading Ltd")
    refused(page, SYNC_JOBS, world.job.last_error)
    refused(page, PROFILES, "Alice Trading Ltd")
    refused(page, KYC, "Bob Example")
    refused(page, world.statement_url, "wallet funding")
    refused(page, world.transition_url("submit"))


def test_an_admin_sees_every_panel_and_every_screen(open_page, world) -> None:
    ada, device = staff_member("ada", "admin")
    page = open_page()
    sign_in(page, ada.username, device)

    panels = dashboard_panels(page)
    assert {"dashboard-transfers", "dashboard-revenue", "dashboard-health"} <= panels
    inbox = inbox_titles(page)
    for item in world.items.values():
        assert item.title in inbox
    for url, shows in (
        (world.statement_url, "wallet funding"),
        (SYNC_JOBS, world.job.last_error[:40]),
        (DELIVERIES, world.delivery.webhook_id),
        (KYC, "Bob Example"),
        (reverse("admin:two-factor-reset", args=[ada.pk]), "Reset two-factor"),
    ):
        response = page.goto(url)
        assert response is not None
        assert response.status == 200, url
        expect(page.locator("#content")).to_contain_text(shows)
