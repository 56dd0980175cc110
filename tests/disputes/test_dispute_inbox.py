"""A dispute waiting on us past its deadline is an item in the exception inbox until an
operator moves it on; one waiting for the customer's evidence is the deadline scan's."""

import datetime as dt

import pytest
import time_machine

from fintech.disputes.services import dispute_decide, dispute_request_evidence, dispute_review
from integrations.inbox.scan import exception_scan
from integrations.inbox.selectors import open_q
from integrations.models import ExceptionItem
from tests.disputes.conftest import OPS

pytestmark = pytest.mark.django_db
S = ExceptionItem.Source


def open_dispute_items():
    return ExceptionItem.objects.filter(open_q(), source=S.DISPUTE_DUE)


def test_an_overdue_dispute_is_an_item_until_decided(open_dispute):
    dispute = open_dispute()
    exception_scan()
    assert not open_dispute_items().exists()  # not due yet
    with time_machine.travel(dispute.respond_by + dt.timedelta(minutes=1)):
        exception_scan()
        item = open_dispute_items().get()
        assert item.source_id == f"{dispute.pk}:opened"
        assert dispute.transfer.reference in item.title
        assert item.severity == ExceptionItem.Severity.HIGH
        dispute_review(actor=OPS, dispute_id=dispute.pk, reason="looked at it")
        exception_scan()
        assert not open_dispute_items().exists()  # a new deadline under review
    dispute_decide(actor=OPS, dispute_id=dispute.pk, outcome="won", reason="delivered")


def test_waiting_for_evidence_is_not_an_item(open_dispute):
    dispute = open_dispute()
    dispute = dispute_request_evidence(actor=OPS, dispute_id=dispute.pk, reason="receipt?")
    with time_machine.travel(dispute.respond_by + dt.timedelta(minutes=1)):
        exception_scan()
        assert not open_dispute_items().exists()
