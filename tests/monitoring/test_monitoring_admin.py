"""The monitoring console: compliance writes rules (impossible ones refused beside the field)
and decides alerts with a note; support and finance see neither alerts nor their history."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from fintech.compliance.models import CaseItem
from fintech.core.models import AuditEvent
from fintech.monitoring.models import MonitoringAlert, MonitoringRule
from tests.builders import build_user
from tests.monitoring.conftest import save_rule

pytestmark = pytest.mark.django_db

ALERTS = "admin:monitoring_monitoringalert_changelist"
RULES = "admin:monitoring_monitoringrule_changelist"
ADD_RULE = "admin:monitoring_monitoringrule_add"


def staff(username: str, role: str):
    user = build_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


RULE_FORM = {
    "name": "UK large payments",
    "kind": "structuring",
    "is_active": "on",
    "jurisdiction": "UK",
    "score": "60",
    "source_currency": "GBP",
    "amount_minor": "1000000",
    "band_minor": "2000000",
    "count": "3",
    "window_hours": "72",
}


def test_compliance_writes_a_rule_and_an_impossible_one_is_refused_beside_its_field(
    client,
) -> None:
    carla = staff("carla", "compliance")
    client.force_login(carla)

    refused = client.post(reverse(ADD_RULE), RULE_FORM)
    assert refused.status_code == 200
    assert "band_minor" in refused.context["adminform"].form.errors
    assert not MonitoringRule.objects.exists()

    saved = client.post(reverse(ADD_RULE), {**RULE_FORM, "band_minor": "50000"})
    assert saved.status_code == 302
    rule = MonitoringRule.objects.get()
    assert (rule.kind, rule.band_minor, rule.updated_by) == ("structuring", 50_000, "user:carla")
    assert AuditEvent.objects.get(action="monitoring.rule_created").actor_id == carla.pk


def test_compliance_adds_a_many_senders_rule_in_the_admin(client) -> None:
    client.force_login(staff("carla", "compliance"))
    form = client.get(reverse(ADD_RULE)).context["adminform"].form
    assert "many_senders_one_beneficiary" in dict(form.fields["kind"].choices)
    many = {
        "name": "Many customers, one account",
        "kind": "many_senders_one_beneficiary",
        "score": "70",
        "count": "1",
        "window_hours": "168",
    }
    refused = client.post(reverse(ADD_RULE), many)
    assert refused.status_code == 200
    assert "count" in refused.context["adminform"].form.errors  # at least 2
    assert client.post(reverse(ADD_RULE), {**many, "count": "5"}).status_code == 302
    rule = MonitoringRule.objects.get()
    assert (rule.kind, rule.count, rule.window_hours, rule.is_active) == (
        "many_senders_one_beneficiary", 5, 168, False
    )  # fmt: skip


@pytest.fixture
def alert(pay) -> MonitoringAlert:
    save_rule("large_amount", amount_minor=100, name="Large GBP")
    return MonitoringAlert.objects.get(transfer=pay("250.00"))


def test_a_compliance_officer_sees_the_alert_and_its_case(client, alert) -> None:
    carla = staff("carla", "compliance")
    client.force_login(carla)
    page = client.get(reverse(ALERTS), {"status__exact": "open"})
    assert page.status_code == 200
    assert b"Large GBP" in page.content
    case_id = CaseItem.objects.get(source="monitoring_alert", source_id=alert.pk).case_id
    case_url = reverse("admin:compliance_case_change", args=[case_id])
    assert f'href="{case_url}"'.encode() in page.content
    # Decided by its case, not from the queue: the queue offers no decisions.
    assert b'value="clear"' not in page.content
    assert client.get(case_url).status_code == 200


@pytest.mark.parametrize("role", ["support", "finance"])
def test_support_and_finance_see_neither_alerts_rules_nor_their_history(
    client, alert, role
) -> None:
    client.force_login(staff("sam", role))
    assert client.get(reverse(ALERTS)).status_code == 403
    assert client.get(reverse(RULES)).status_code == 403
    page = client.get(reverse("admin:core_auditevent_changelist"))
    assert page.status_code == 200
    assert b"monitoring.alert_raised" not in page.content


def test_rules_cannot_be_changed_by_engineering(client) -> None:
    client.force_login(staff("erin", "engineering"))
    assert client.get(reverse(ADD_RULE)).status_code == 403


def test_support_sees_on_the_transfer_that_it_is_held_not_why(client, alert) -> None:
    client.force_login(staff("sam", "support"))
    page = client.get(reverse("admin:transfers_transfer_change", args=[alert.transfer_id]))
    assert page.status_code == 200
    assert b"Held by compliance" in page.content
    assert b"Large GBP" not in page.content
    assert b"large_amount" not in page.content
