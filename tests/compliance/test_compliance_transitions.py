"""Every legal and illegal compliance transition, through the services.

A legal one moves the state, stamps the times, writes one audit row with actor and reason and
emits its event; an illegal one raises TransitionNotAllowed (409) and changes nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection

from fintech.compliance import services
from fintech.compliance.models import ComplianceStatus
from fintech.core.errors import TransitionNotAllowed, ValidationFailed
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.core.services import Actor
from fintech.customers.models import Profile
from tests.builders import build_profile

pytestmark = pytest.mark.django_db

S = ComplianceStatus.State
STATES = [S.UNVERIFIED, S.PENDING, S.VERIFIED, S.REJECTED]
OPS = Actor(label="user:ops", request_id="req-1")

SERVICES: dict[str, Callable[..., ComplianceStatus]] = {
    "submit": services.compliance_submit,
    "resubmit": services.compliance_resubmit,
    "verify": services.compliance_verify,
    "reject": services.compliance_reject,
    "flag_review": services.compliance_flag_review,
    "clear_review": services.compliance_clear_review,
}
# (service, from state) -> to state, for the state-changing services.
LEGAL = {
    ("submit", S.UNVERIFIED): S.PENDING,
    ("resubmit", S.REJECTED): S.PENDING,
    ("verify", S.PENDING): S.VERIFIED,
    ("reject", S.PENDING): S.REJECTED,
}


def status_in(state: str, *, kind: str = Profile.Kind.BUSINESS, flagged: bool = False):
    """A profile's compliance status brought to `state` through the services."""
    profile = build_profile(kind=kind, verified=False)
    status = profile.compliance
    if state != S.UNVERIFIED:
        services.compliance_submit(actor=OPS, status=status)
    if state == S.VERIFIED:
        services.compliance_verify(actor=OPS, status=status)
    if state == S.REJECTED:
        services.compliance_reject(actor=OPS, status=status, reason="documents unreadable")
    if flagged:
        services.compliance_flag_review(actor=OPS, status=status, reason="monitoring alert")
    return ComplianceStatus.objects.get(pk=status.pk)


def snapshot(status: ComplianceStatus) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT state, review_required, review_reason, submitted_at, decided_at, updated_at "
            "FROM compliance_compliancestatus WHERE id = %s",
            [status.pk],
        )
        row = cursor.fetchone()
    return (row, AuditEvent.objects.count(), OutboxEvent.objects.count())


@pytest.mark.parametrize(("name", "source"), list(LEGAL), ids=lambda v: str(v))
def test_legal_transition_moves_state_audits_and_emits(name, source) -> None:
    status = status_in(source)
    audits, events = AuditEvent.objects.count(), OutboxEvent.objects.count()

    result = SERVICES[name](actor=OPS, status=status, reason="checked by ops")

    status.refresh_from_db()
    assert status.state == result.state == LEGAL[(name, source)]
    audit = AuditEvent.objects.latest("id")
    assert AuditEvent.objects.count() == audits + 1
    assert audit.action == f"compliance.{name}"
    assert audit.actor_label == "user:ops"
    assert audit.request_id == "req-1"
    assert audit.reason == "checked by ops"
    assert audit.target_id == str(status.pk)
    assert audit.data == {"profile_id": status.profile_id, "source": source, "target": status.state}
    assert OutboxEvent.objects.count() == events + 1


ILLEGAL = [
    (name, state)
    for name in ("submit", "resubmit", "verify", "reject")
    for state in STATES
    if (name, state) not in LEGAL
]


@pytest.mark.parametrize(("name", "state"), ILLEGAL, ids=lambda v: str(v))
def test_illegal_transition_is_refused_and_changes_nothing(name, state) -> None:
    status = status_in(state)
    before = snapshot(status)

    with pytest.raises(TransitionNotAllowed) as caught:
        SERVICES[name](actor=OPS, status=status, reason="trying anyway")

    assert caught.value.status == 409
    assert caught.value.code == "transition_not_allowed"
    assert state in caught.value.message
    assert snapshot(status) == before


def test_submit_and_decision_stamp_times() -> None:
    status = status_in(S.UNVERIFIED)
    assert status.submitted_at is None
    status = services.compliance_submit(actor=OPS, status=status)
    assert status.submitted_at is not None
    assert status.decided_at is None
    status = services.compliance_reject(actor=OPS, status=status, reason="expired passport")
    assert status.decided_at is not None
    status = services.compliance_resubmit(actor=OPS, status=status, reason="new passport")
    assert status.state == S.PENDING
    assert status.decided_at is None


def test_verifying_a_business_emits_business_verified() -> None:
    status = status_in(S.PENDING, kind=Profile.Kind.BUSINESS)
    services.compliance_verify(actor=OPS, status=status)
    event = OutboxEvent.objects.get(type="business.verified")
    assert event.profile_id == status.profile_id
    assert event.payload == {
        "profile_id": status.profile_id,
        "kind": "business",
        "state": "verified",
        "review_required": False,
    }


def test_verifying_a_person_emits_customer_verified() -> None:
    status = status_in(S.PENDING, kind=Profile.Kind.PERSONAL)
    services.compliance_verify(actor=OPS, status=status)
    types = list(
        OutboxEvent.objects.filter(profile_id=status.profile_id).values_list("type", flat=True)
    )
    assert "customer.verified" in types
    assert "business.verified" not in types


@pytest.mark.parametrize("state", STATES)
def test_flag_review_works_in_every_state(state) -> None:
    status = status_in(state)
    result = services.compliance_flag_review(actor=OPS, status=status, reason="sanctions hit")
    status.refresh_from_db()
    assert status.state == state  # the flag does not move the state
    assert status.review_required is True
    assert status.review_reason == "sanctions hit"
    assert result.review_required is True
    event = OutboxEvent.objects.get(type="compliance.review_required")
    assert event.payload["review_required"] is True
    assert AuditEvent.objects.latest("id").reason == "sanctions hit"


@pytest.mark.parametrize("state", STATES)
def test_flagging_twice_is_refused_and_changes_nothing(state) -> None:
    status = status_in(state, flagged=True)
    before = snapshot(status)
    with pytest.raises(TransitionNotAllowed):
        services.compliance_flag_review(actor=OPS, status=status, reason="again")
    assert snapshot(status) == before


@pytest.mark.parametrize("state", STATES)
def test_clear_review_lowers_the_flag(state) -> None:
    status = status_in(state, flagged=True)
    services.compliance_clear_review(actor=OPS, status=status, reason="false positive")
    status.refresh_from_db()
    assert status.state == state
    assert status.review_required is False
    assert status.review_reason == ""
    assert AuditEvent.objects.latest("id").action == "compliance.clear_review"


@pytest.mark.parametrize("state", STATES)
def test_clearing_an_unflagged_status_is_refused(state) -> None:
    status = status_in(state)
    before = snapshot(status)
    with pytest.raises(TransitionNotAllowed):
        services.compliance_clear_review(actor=OPS, status=status)
    assert snapshot(status) == before


def test_a_profile_under_review_cannot_be_verified_but_can_be_rejected() -> None:
    status = status_in(S.PENDING, flagged=True)
    before = snapshot(status)
    with pytest.raises(TransitionNotAllowed, match="under review"):
        services.compliance_verify(actor=OPS, status=status)
    assert snapshot(status) == before

    services.compliance_reject(actor=OPS, status=status, reason="confirmed sanctions hit")
    status.refresh_from_db()
    assert status.state == S.REJECTED


@pytest.mark.parametrize(
    ("name", "state"),
    [("reject", S.PENDING), ("resubmit", S.REJECTED), ("flag_review", S.VERIFIED)],
)
def test_reason_is_required_where_it_matters(name, state) -> None:
    status = status_in(state)
    before = snapshot(status)
    with pytest.raises(ValidationFailed) as caught:
        SERVICES[name](actor=OPS, status=status, reason="   ")
    assert [f.field for f in caught.value.fields] == ["reason"]
    assert snapshot(status) == before


def test_the_state_field_cannot_be_assigned_directly() -> None:
    status = status_in(S.PENDING)
    with pytest.raises(AttributeError):
        status.state = S.VERIFIED


def test_services_accept_the_status_id() -> None:
    status = status_in(S.UNVERIFIED)
    result = services.compliance_submit(actor=OPS, status=status.pk)
    assert result.state == S.PENDING
