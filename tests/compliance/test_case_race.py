"""Cases under concurrency, with two real threads (each its own PostgreSQL connection)
released together by a barrier.

- Two alerts on one profile attach at the same moment: one case, both items in it (the
  partial unique index on active cases, and the loser attaching to the winner's case).
- Two officers approve the same proposal at once: the row lock makes the second wait, find
  the case closed and be refused; the held transfer is cancelled once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from fintech.compliance.cases import services as cases
from fintech.compliance.models import Case, CaseItem
from fintech.core.errors import Conflict
from fintech.core.models import OutboxEvent
from fintech.core.services import Actor
from fintech.transfers.models import Transfer
from ledger.selectors import ledger_verify_report
from tests.builders import build_profile

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def race(jobs: dict[str, Callable[[], object]]) -> dict[str, str]:
    barrier = threading.Barrier(len(jobs))
    outcomes: dict[str, str] = {}

    def run(name: str) -> None:
        try:
            barrier.wait(timeout=30)
            jobs[name]()
            outcomes[name] = "won"
        except Conflict:
            outcomes[name] = "refused"
        except Exception as exc:
            outcomes[name] = f"error: {exc!r}"
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(name,)) for name in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def test_two_alerts_at_once_open_one_case() -> None:
    profile = build_profile(verified=True)

    def attach(source_id: int) -> Callable[[], object]:
        return lambda: cases.case_attach(
            actor=Actor.system("test"), profile=profile.pk, source="screening_hit",
            source_id=source_id, summary=f"alert {source_id}", score=90,
        )  # fmt: skip

    outcomes = race({"first": attach(1), "second": attach(2)})
    assert outcomes == {"first": "won", "second": "won"}
    case = Case.objects.get(profile=profile)
    assert sorted(CaseItem.objects.filter(case=case).values_list("source_id", flat=True)) == [1, 2]
    assert OutboxEvent.objects.filter(type="case.opened").count() == 1


def test_two_approvals_at_once_cancel_once(alice, settings) -> None:
    from fintech.compliance.screening.services import sanctions_rescreen_due
    from tests.compliance.cases import actor_of, case_of, funded_then_held, officer

    settings.CASE_FOUR_EYES_RISK = 0
    funded, _ = funded_then_held(alice)
    assert sanctions_rescreen_due() == 0
    carla, dan, erin = officer("carla"), officer("dan"), officer("erin")
    case = case_of(alice)
    cases.case_start_investigation(actor=actor_of(carla), case_id=case.pk, note="looking")
    cases.case_close_reported(
        actor=actor_of(carla), case_id=case.pk, note="SAR filed", cancel_transfers=True
    )

    outcomes = race({
        "dan": lambda: cases.case_decision_approve(actor=actor_of(dan), case_id=case.pk),
        "erin": lambda: cases.case_decision_approve(actor=actor_of(erin), case_id=case.pk),
    })  # fmt: skip
    assert sorted(outcomes.values()) == ["refused", "won"], outcomes
    funded.refresh_from_db()
    assert funded.state == Transfer.State.CANCELLED
    assert OutboxEvent.objects.filter(type="case.closed").count() == 1
    assert OutboxEvent.objects.filter(type="transfer.cancelled").count() == 2  # both held ones
    assert ledger_verify_report().ok
