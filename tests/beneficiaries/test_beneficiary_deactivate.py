"""beneficiary_deactivate: once, audited, with an event; a second time is refused."""

from __future__ import annotations

import pytest

from fintech.beneficiaries.selectors import beneficiaries_for_profile, beneficiary_get_for_profile
from fintech.beneficiaries.services import beneficiary_deactivate
from fintech.core.errors import NotFound, TransitionNotAllowed
from fintech.core.models import AuditEvent, OutboxEvent
from tests.builders import build_beneficiary

pytestmark = pytest.mark.django_db


def test_deactivate_marks_inactive_audits_and_emits(alice, ops_actor) -> None:
    beneficiary = build_beneficiary(profile=alice, currency="GBP")

    result = beneficiary_deactivate(actor=ops_actor, beneficiary=beneficiary, reason="closed")

    beneficiary.refresh_from_db()
    assert result.is_active is False
    assert beneficiary.is_active is False
    assert beneficiary.deactivated_at is not None
    audit = AuditEvent.objects.get(action="beneficiary.deactivated")
    assert (audit.actor_label, audit.reason) == ("user:ops", "closed")
    event = OutboxEvent.objects.get(type="beneficiary.deactivated")
    assert event.payload["beneficiary_id"] == beneficiary.pk
    assert list(beneficiaries_for_profile(profile=alice)) == []
    assert list(beneficiaries_for_profile(profile=alice, active_only=False)) == [beneficiary]


def test_deactivating_twice_is_refused_and_writes_nothing(alice, ops_actor) -> None:
    beneficiary = build_beneficiary(profile=alice, currency="GBP")
    beneficiary_deactivate(actor=ops_actor, beneficiary=beneficiary)
    audits, events = AuditEvent.objects.count(), OutboxEvent.objects.count()

    with pytest.raises(TransitionNotAllowed):
        beneficiary_deactivate(actor=ops_actor, beneficiary=beneficiary.pk)

    assert (AuditEvent.objects.count(), OutboxEvent.objects.count()) == (audits, events)


def test_another_profiles_beneficiary_is_not_found(alice, bob) -> None:
    beneficiary = build_beneficiary(profile=alice, currency="EUR")
    assert beneficiary_get_for_profile(profile=alice, beneficiary_id=beneficiary.pk) == beneficiary
    with pytest.raises(NotFound):
        beneficiary_get_for_profile(profile=bob, beneficiary_id=beneficiary.pk)
