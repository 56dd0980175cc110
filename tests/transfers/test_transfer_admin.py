"""The operator console for transfers: read-only pages, filters that answer questions, and
transition buttons that go through a confirmation page to the services."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fintech.core.models import AuditEvent
from fintech.transfers.models import TransferTransition
from tests.builders import build_user
from tests.transfers.conftest import OPS, STEP

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def change_url(transfer):
    return reverse("admin:transfers_transfer_change", args=[transfer.pk])


def transition_url(transfer, action):
    return reverse("admin:transfers_transfer_transition", args=[transfer.pk, action])


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_list_shows_formatted_amounts_in_bounded_queries(ops_client, make_transfer) -> None:
    transfers = [make_transfer(state) for state in ("created", "funded", "processing")]
    url = reverse("admin:transfers_transfer_changelist")
    ops_client.get(url)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        ops_client.get(url)
    transfers += [make_transfer("completed") for _ in range(5)]
    with CaptureQueriesContext(connection) as many:
        response = ops_client.get(url)
    assert response.status_code == 200
    assert len(many) == len(few)  # no query per row
    page = response.content.decode()
    for transfer in transfers:
        assert transfer.reference in page
    assert "250.00 GBP" in page


def test_the_stuck_filter_finds_long_processing_and_long_funded(ops_client, make_transfer) -> None:
    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(hours=2), tick=False):
        stuck_processing = make_transfer("processing")
    with time_machine.travel(now - dt.timedelta(minutes=10), tick=False):
        fresh_processing = make_transfer("processing")
    with time_machine.travel(now - dt.timedelta(days=2), tick=False):
        stuck_funded = make_transfer("funded")
    with time_machine.travel(now - dt.timedelta(hours=3), tick=False):
        fresh_funded = make_transfer("funded")
        old_created = make_transfer("created")
    response = ops_client.get(reverse("admin:transfers_transfer_changelist") + "?stuck=yes")
    page = response.content.decode()
    assert stuck_processing.reference in page
    assert stuck_funded.reference in page
    for other in (fresh_processing, fresh_funded, old_created):
        assert other.reference not in page


@pytest.mark.parametrize("field", ["reference", "customer_transaction_id"])
def test_search_finds_a_transfer(ops_client, make_transfer, field) -> None:
    wanted, other = make_transfer(), make_transfer()
    url = reverse("admin:transfers_transfer_changelist")
    page = ops_client.get(url, {"q": getattr(wanted, field)}).content.decode()
    assert wanted.reference in page
    assert other.reference not in page


def test_the_change_page_shows_the_timeline_and_only_allowed_buttons(
    ops_client, make_transfer
) -> None:
    transfer = make_transfer("funded")
    response = ops_client.get(change_url(transfer))
    assert response.status_code == 200
    page = response.content.decode()
    assert transition_url(transfer, "submit") in page
    assert transition_url(transfer, "cancel") in page
    for action in ("fund", "complete", "fail", "refund"):
        assert transition_url(transfer, action) not in page
    assert "test: fund" in page  # the reason on the timeline inline
    assert 'name="_save"' not in page  # read-only


def test_a_transition_asks_for_a_reason_then_calls_the_service(
    ops_client, ops, make_transfer
) -> None:
    transfer = make_transfer("funded")
    confirm = ops_client.get(transition_url(transfer, "submit"))
    assert confirm.status_code == 200
    assert "processing" in confirm.content.decode()

    response = ops_client.post(
        transition_url(transfer, "submit"),
        {"reason": "cut-off"},
        HTTP_X_REQUEST_ID="req-admin-1",
    )
    assert response.status_code == 302
    transfer.refresh_from_db()
    assert transfer.state == "processing"
    row = TransferTransition.objects.filter(transfer=transfer).last()
    assert (row.transition, row.actor_label, row.actor_user_id, row.reason, row.request_id) == (
        "submit",
        "user:ops",
        ops.pk,
        "cut-off",
        "req-admin-1",
    )
    assert AuditEvent.objects.filter(action="transfer.submit", actor=ops).exists()
    assert any("is now processing" in m for m in messages_of(response))


def test_no_reason_no_transition(ops_client, make_transfer) -> None:
    transfer = make_transfer("funded")
    response = ops_client.post(transition_url(transfer, "cancel"), {"reason": ""})
    assert response.status_code == 200  # the form again, with its error
    transfer.refresh_from_db()
    assert transfer.state == "funded"


def test_a_transition_not_allowed_shows_an_error_and_changes_nothing(
    ops_client, make_transfer
) -> None:
    transfer = make_transfer("funded")
    before = TransferTransition.objects.count()
    response = ops_client.post(transition_url(transfer, "complete"), {"reason": "sure"})
    assert response.status_code == 302
    assert any("Cannot complete" in m and "funded" in m for m in messages_of(response))
    transfer.refresh_from_db()
    assert transfer.state == "funded"
    assert TransferTransition.objects.count() == before


def test_a_stale_confirmation_page_cannot_move_a_transfer_twice(ops_client, make_transfer) -> None:
    transfer = make_transfer("funded")
    assert ops_client.get(transition_url(transfer, "submit")).status_code == 200
    STEP["submit"](actor=OPS, transfer_id=transfer.pk, reason="the partner API did it first")
    response = ops_client.post(transition_url(transfer, "submit"), {"reason": "double click"})
    assert any("Cannot submit" in m and "processing" in m for m in messages_of(response))
    assert TransferTransition.objects.filter(transfer=transfer, transition="submit").count() == 1


def test_an_unknown_action_is_404(ops_client, make_transfer) -> None:
    transfer = make_transfer()
    assert ops_client.get(transition_url(transfer, "teleport")).status_code == 404


def test_viewers_see_no_buttons_and_cannot_transition(client, make_transfer) -> None:
    support = build_user("support", is_staff=True)
    support.user_permissions.add(Permission.objects.get(codename="view_transfer"))
    client.force_login(support)
    transfer = make_transfer("funded")
    page = client.get(change_url(transfer)).content.decode()
    assert transition_url(transfer, "submit") not in page
    response = client.post(transition_url(transfer, "submit"), {"reason": "x"})
    assert response.status_code == 403
    transfer.refresh_from_db()
    assert transfer.state == "funded"


@pytest.mark.parametrize(
    "model", ["transfers_transfer", "transfers_transfertransition", "quotes_quote"]
)
def test_money_objects_cannot_be_added_or_deleted(ops_client, make_transfer, model) -> None:
    transfer = make_transfer()
    obj_pk = {
        "transfers_transfer": transfer.pk,
        "transfers_transfertransition": transfer.transitions.first().pk,
        "quotes_quote": transfer.quote_id,
    }[model]
    assert ops_client.get(reverse(f"admin:{model}_add")).status_code == 403
    assert ops_client.get(reverse(f"admin:{model}_delete", args=[obj_pk])).status_code == 403
    assert ops_client.get(reverse(f"admin:{model}_changelist")).status_code == 200
    assert ops_client.get(reverse(f"admin:{model}_change", args=[obj_pk])).status_code == 200


def test_the_quote_list_filters_expired(ops_client, make_transfer) -> None:
    valid = make_transfer().quote
    with time_machine.travel(timezone.now() - dt.timedelta(days=1), tick=False):
        expired = make_transfer().quote
    url = reverse("admin:quotes_quote_changelist")
    page = ops_client.get(url, {"expired": "yes"}).content.decode()
    assert str(expired.pk)[:8] in page
    assert str(valid.pk)[:8] not in page
    page = ops_client.get(url, {"expired": "no"}).content.decode()
    assert str(valid.pk)[:8] in page
    assert str(expired.pk)[:8] not in page


def test_the_change_page_does_not_grow_with_the_timeline(ops_client, make_transfer) -> None:
    short, long = make_transfer("created"), make_transfer("refunded")
    ops_client.get(change_url(short))  # warm caches
    with CaptureQueriesContext(connection) as one_row:
        ops_client.get(change_url(short))
    with CaptureQueriesContext(connection) as five_rows:
        response = ops_client.get(change_url(long))
    assert response.status_code == 200
    assert len(five_rows) == len(one_row), "\n".join(q["sql"][:300] for q in five_rows)
