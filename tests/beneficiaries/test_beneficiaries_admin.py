"""The beneficiary console shows masked details only, never the encrypted field, and
deactivates through the service."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fintech.beneficiaries.models import Beneficiary
from fintech.core.models import AuditEvent
from tests.builders import build_beneficiary, build_profile

pytestmark = pytest.mark.django_db

PLAINTEXT = [b"DE89370400440532013000", b"0532013000", b"COBADEFF", b"70872490", b"404784"]
CHANGELIST = "admin:beneficiaries_beneficiary_changelist"


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


@pytest.fixture
def payees(alice):
    return [
        build_beneficiary(profile=alice, currency="EUR"),
        build_beneficiary(profile=alice, currency="GBP"),
    ]


def test_list_shows_masked_details_only(ops_client, payees) -> None:
    content = ops_client.get(reverse(CHANGELIST)).content
    assert b"IBAN ****3000" in content
    assert b"UK account ****2490" in content
    for secret in PLAINTEXT:
        assert secret not in content


def test_change_page_never_renders_the_encrypted_field(ops_client, payees) -> None:
    for payee in payees:
        response = ops_client.get(
            reverse("admin:beneficiaries_beneficiary_change", args=[payee.pk])
        )
        assert response.status_code == 200
        assert b"bank_details" not in response.content
        assert b'name="_save"' not in response.content
        assert b"gAAAA" not in response.content  # not even the ciphertext
        for secret in PLAINTEXT:
            assert secret not in response.content


def test_no_add_or_delete_from_the_console(ops_client, payees) -> None:
    assert ops_client.get(reverse("admin:beneficiaries_beneficiary_add")).status_code == 403
    url = reverse("admin:beneficiaries_beneficiary_delete", args=[payees[0].pk])
    assert ops_client.get(url).status_code == 403


def test_list_has_no_query_per_row(ops_client, payees) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert ops_client.get(reverse(CHANGELIST)).status_code == 200
        return len(captured)

    few = count()
    for currency in ("USD", "INR", "CHF"):
        build_beneficiary(profile=build_profile(), currency=currency)
    assert count() == few


def test_deactivate_action_asks_for_a_reason_then_calls_the_service(
    ops_client, ops, payees
) -> None:
    url = reverse(CHANGELIST)
    data = {"action": "deactivate", ACTION_CHECKBOX_NAME: [p.pk for p in payees]}
    assert b"Reason" in ops_client.post(url, data).content
    assert Beneficiary.objects.filter(is_active=True).count() == 2

    response = ops_client.post(url, {**data, "confirm": "yes", "reason": "replaced"}, follow=True)
    assert response.status_code == 200
    assert Beneficiary.objects.filter(is_active=True).count() == 0
    assert AuditEvent.objects.filter(action="beneficiary.deactivated", actor_id=ops.pk).count() == 2

    response = ops_client.post(url, {**data, "confirm": "yes", "reason": "again"}, follow=True)
    assert b"already deactivated" in response.content
    assert AuditEvent.objects.filter(action="beneficiary.deactivated").count() == 2
