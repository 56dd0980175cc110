"""Verify and reject racing on the same pending status: exactly one wins.

Two real threads, each with its own PostgreSQL connection, released together by a barrier.
The row lock makes the second wait for the first to commit; it then sees the decided state
and is refused with TransitionNotAllowed, writing nothing.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from fintech.compliance import services
from fintech.compliance.models import ComplianceStatus
from fintech.core.errors import TransitionNotAllowed
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.core.services import Actor
from tests.builders import build_profile


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(5))
def test_verify_and_reject_race_exactly_one_wins(attempt) -> None:
    profile = build_profile(verified=False, submitted=True)
    status_id = profile.compliance.pk
    audits_before = AuditEvent.objects.filter(
        action__in=["compliance.verify", "compliance.reject"]
    ).count()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def decide(name: str) -> None:
        try:
            barrier.wait(timeout=30)
            if name == "verify":
                services.compliance_verify(actor=Actor(label="user:ops1"), status=status_id)
            else:
                services.compliance_reject(
                    actor=Actor(label="user:ops2"), status=status_id, reason="mismatch"
                )
            outcomes[name] = "won"
        except TransitionNotAllowed:
            outcomes[name] = "refused"
        except Exception as exc:
            outcomes[name] = f"error: {exc!r}"
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=decide, args=(n,)) for n in ("verify", "reject")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(outcomes.values()) == ["refused", "won"], outcomes
    winner = next(name for name, outcome in outcomes.items() if outcome == "won")
    status = ComplianceStatus.objects.get(pk=status_id)
    assert status.state == ("verified" if winner == "verify" else "rejected")
    decisions = AuditEvent.objects.filter(action__in=["compliance.verify", "compliance.reject"])
    assert decisions.count() == audits_before + 1
    assert decisions.get().action == f"compliance.{winner}"
    expected_event = "business.verified" if winner == "verify" else "compliance.rejected"
    assert OutboxEvent.objects.filter(profile_id=profile.pk, type=expected_event).count() == 1
    loser_event = "compliance.rejected" if winner == "verify" else "business.verified"
    assert not OutboxEvent.objects.filter(profile_id=profile.pk, type=loser_event).exists()
