"""The reconciliation run: import what arrived, match, run every check, open or close
mismatches, keep the run record, alert.

- A run is for one date (`as_of`, by default yesterday in `RECONCILIATION_TIME_ZONE`).
- A check that fails is an error in the run record (the run is then `failed`, the other
  checks still run) and its mismatches are left as they were: a failed check clears nothing.
- A replay (`replay=True`) reads the world as the date's latest finished run knew it (its
  `known_at`; `replay_of=<run id>` names an earlier one), runs only the checks and touches
  no mismatch: the same counts come out.
- Alerts are error log lines with stable event names (monitoring pages on them) and an
  outbox event `reconciliation.alert`: a failed run, more open mismatches than the previous
  run, or no run started for yesterday by the watchdog's time.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fintech.core.services import Actor, event_emit
from integrations.reconciliation.checks import CHECKS, CheckContext
from integrations.reconciliation.matching import statement_lines_match
from integrations.reconciliation.mismatches import mismatch_clear, mismatch_raise
from integrations.reconciliation.models import BankAccount, Mismatch, ReconRun

logger = logging.getLogger(__name__)

RUN_FAILED = "reconciliation.run_failed"
MISMATCHES_ROSE = "reconciliation.mismatches_rose"
RUN_MISSING = "reconciliation.run_missing"

Progress = Callable[[str], None]


def run_time_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(getattr(settings, "RECONCILIATION_TIME_ZONE", "UTC"))


def yesterday(now: datetime | None = None) -> date:
    now = now or timezone.now()
    return now.astimezone(run_time_zone()).date() - timedelta(days=1)


def _alert(name: str, message: str, **data: object) -> None:
    logger.error("%s: %s", name, message, extra={"event": name, **data})
    with transaction.atomic():
        event_emit(
            type="reconciliation.alert",
            payload={"alert": name, "message": message, **data},
            profile_id=None,
        )


def _import_inbox(run: ReconRun, progress: Progress) -> dict[str, int]:
    """Files waiting in `RECONCILIATION_INBOX_DIR/<account number>/`: imported (a file
    imported before is a no-op), then moved to `done/` or `refused/` beside them."""
    from integrations.reconciliation.services import statement_import

    counts = {"imported": 0, "duplicate": 0, "refused": 0}
    inbox = getattr(settings, "RECONCILIATION_INBOX_DIR", "")
    if not inbox:
        return counts
    actor = Actor.system("reconciliation")
    for account in BankAccount.objects.order_by("pk"):
        folder = Path(inbox) / account.account_number
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            try:
                result = statement_import(
                    actor=actor,
                    bank_account_id=account.pk,
                    filename=path.name,
                    content=path.read_bytes(),
                )
                outcome = "duplicate" if result.duplicate else "imported"
            except Exception as exc:
                outcome = "refused"
                run.errors.append({"step": "import", "file": str(path), "error": str(exc)})
            counts[outcome] += 1
            target = folder / ("refused" if outcome == "refused" else "done")
            target.mkdir(exist_ok=True)
            path.rename(target / path.name)
            progress(f"import {account.account_number}/{path.name}: {outcome}")
    return counts


def _pull_partner_reports(run: ReconRun, as_of: date, progress: Progress) -> int:
    """The payout partner's settlement report for the date, per partner account."""
    from integrations.reconciliation.provider_reports import (
        partner_accounts,
        partner_report_pull,
    )

    pulled = 0
    for account in partner_accounts():
        try:
            result = partner_report_pull(
                actor=Actor.system("reconciliation"), bank_account_id=account.pk, day=as_of
            )
        except Exception as exc:
            run.errors.append({"step": "partner_report", "bank_account": account.pk,
                               "error": str(exc)})  # fmt: skip
            continue
        pulled += 0 if result.duplicate else 1
        progress(f"partner report {account.name} {as_of}: "
                 f"{'duplicate' if result.duplicate else 'imported'}")  # fmt: skip
    return pulled


def reconciliation_run(
    *,
    as_of: date | None = None,
    trigger: str = "manual",
    actor_label: str = "system:reconciliation",
    replay: bool = False,
    replay_of: int | None = None,
    progress: Progress | None = None,
) -> ReconRun:
    """`replay_of` (a run's id) replays that run; `replay` alone the date's latest finished
    run, so a date run twice (a clean night, then again after new data) replays as it last
    stood, not as it first did."""
    progress = progress or (lambda _message: None)
    known_at = timezone.now()
    if replay_of is not None:
        replay = True
        named = ReconRun.objects.exclude(trigger="replay").filter(pk=replay_of).first()
        if named is None or named.finished_at is None:
            raise ValueError(f"replay_of: run {replay_of} is no finished reconciliation run")
        as_of = named.as_of
    as_of = as_of or yesterday()
    if replay:
        runs = ReconRun.objects.filter(as_of=as_of, finished_at__isnull=False).exclude(
            trigger="replay"
        )
        original = (
            runs.filter(pk=replay_of).first()
            if replay_of is not None
            else runs.order_by("-started_at", "-pk").first()
        )
        if original is not None and original.counts.get("known_at"):
            known_at = datetime.fromisoformat(original.counts["known_at"])
    previous = ReconRun.objects.exclude(trigger="replay").filter(finished_at__isnull=False).first()
    run = ReconRun.objects.create(
        as_of=as_of, trigger="replay" if replay else trigger, started_by=actor_label
    )
    counts: dict[str, object] = {"known_at": known_at.isoformat()}
    if not replay:
        counts["import"] = _import_inbox(run, progress)
        counts["partner_reports"] = _pull_partner_reports(run, as_of, progress)
        matched: dict[str, int] = {}
        for account in BankAccount.objects.order_by("pk"):
            try:
                result = statement_lines_match(
                    bank_account_id=account.pk, actor_label=actor_label, until=as_of.isoformat()
                )
            except Exception as exc:
                run.errors.append({"step": "match", "bank_account": account.pk, "error": str(exc)})
                continue
            for rule, n in result.matched.items():
                matched[rule] = matched.get(rule, 0) + n
            matched["suggested_fundings"] = (
                matched.get("suggested_fundings", 0) + result.suggested_fundings
            )
            progress(f"match {account.name}: {result.matched}, {result.lines_left} lines left")
        counts["matched"] = matched
        # Matches just made count for the checks of this run.
        known_at = timezone.now()
        counts["known_at"] = known_at.isoformat()
    ctx = CheckContext(as_of=as_of, known_at=known_at)
    per_check: dict[str, int] = {}
    outcomes = {"opened": 0, "reopened": 0, "seen": 0, "standing": 0, "cleared": 0}
    for name, check in sorted(CHECKS.items()):
        try:
            found = check.func(ctx)
        except Exception as exc:
            logger.exception("reconciliation check %s failed", name)
            run.errors.append({"step": "check", "check": name, "error": str(exc)})
            continue
        per_check[name] = len(found)
        progress(f"check {name}: {len(found)} exceptions")
        if replay:
            continue
        for exc_ in found:
            outcomes[mismatch_raise(exc=exc_, check_name=name, as_of=as_of, run=run)] += 1
        keys = {e.key for e in found}
        still_open = Mismatch.objects.filter(
            check_name=name, state__in=[Mismatch.State.OPEN, Mismatch.State.INVESTIGATING]
        ).values_list("pk", "key")
        for pk, key in still_open:
            if key not in keys:
                mismatch_clear(mismatch_id=pk, run=run)
                outcomes["cleared"] += 1
    counts["checks"] = per_check
    counts["exceptions"] = sum(per_check.values())
    if not replay:
        counts["mismatches"] = outcomes
    run.counts = counts
    run.open_mismatches = Mismatch.objects.filter(
        state__in=[Mismatch.State.OPEN, Mismatch.State.INVESTIGATING]
    ).count()
    run.finished_at = timezone.now()
    run.status = ReconRun.Status.FAILED if run.errors else ReconRun.Status.SUCCEEDED
    run.save()
    if run.status == ReconRun.Status.FAILED:
        _alert(RUN_FAILED, f"reconciliation run {run.pk} for {as_of} failed", run_id=run.pk)
    elif not replay and previous is not None and run.open_mismatches > previous.open_mismatches:
        _alert(
            MISMATCHES_ROSE,
            f"open mismatches rose from {previous.open_mismatches} to "
            f"{run.open_mismatches} (run {run.pk})",
            run_id=run.pk,
        )
    return run


def reconciliation_watchdog(*, now: datetime | None = None) -> bool:
    """Alert when no run for yesterday has started by the run's time plus the grace hours
    (beat runs this hourly). Returns True when it alerted."""
    now = now or timezone.now()
    local = now.astimezone(run_time_zone())
    hour, minute = (int(x) for x in settings.RECONCILIATION_RUN_AT.split(":"))
    due = local.replace(hour=hour, minute=minute, second=0, microsecond=0) + timedelta(
        hours=int(getattr(settings, "RECONCILIATION_GRACE_HOURS", 2))
    )
    if local < due:
        return False
    as_of = local.date() - timedelta(days=1)
    if ReconRun.objects.filter(as_of=as_of).exclude(trigger="replay").exists():
        return False
    _alert(RUN_MISSING, f"no reconciliation run for {as_of} has started", as_of=str(as_of))
    return True
