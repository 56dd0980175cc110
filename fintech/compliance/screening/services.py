"""Writes for sanctions screening: loading a list version, screening subjects, deciding hits.

Screening runs inside the transaction that creates the subject (profile_create,
membership_add, beneficiary_create), so a profile is never visible unscreened; rescreening
everyone after a list load runs from the due-time scan (tasks.py), one short transaction per
subject that matched. Raising a hit is idempotent: a live hit for the same subject and entry
is not raised twice (and a partial unique index makes sure of it under races), and a cleared
one is not raised again while the entry's content hash is the one it was cleared against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pghistory
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from fintech.beneficiaries.models import Beneficiary
from fintech.compliance.alerts import alert_decide
from fintech.compliance.cases.attach import case_attach
from fintech.compliance.models import (
    HOLDING_HIT_STATES,
    SanctionsEntry,
    SanctionsListVersion,
    ScreeningHit,
)
from fintech.compliance.screening.matching import EntryView, Match, Matcher, Subject
from fintech.compliance.screening.parsers import PARSERS, ListFileInvalid, published_date
from fintech.core.errors import FieldError, ValidationFailed
from fintech.core.services import Actor, audit_record, event_emit
from fintech.core.transactions import service_transaction
from fintech.customers.models import Membership, Profile

CASE_SOURCE = "screening_hit"  # fintech.compliance.cases.screening.KIND
BATCH = 1000
ENTRY_CONTENT_FIELDS = [
    "kind",
    "names",
    "names_normalised",
    "birth_dates",
    "countries",
    "content_hash",
    "is_active",
    "changed_in",
    "removed_in",
]


# ---------------------------------------------------------------------------------------------
# Loading a list


@dataclass(frozen=True, slots=True)
class LoadResult:
    version: SanctionsListVersion
    created: bool

    @property
    def summary(self) -> str:
        v = self.version
        if not self.created:
            return (
                f"{v} already loaded from this very file (checksum {v.checksum[:12]}): nothing done"
            )
        return (
            f"{v} loaded: {v.entries_total} entries, {v.entries_added} added, "
            f"{v.entries_changed} changed, {v.entries_removed} removed"
        )


def _checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _refuse_older(published: str, latest: SanctionsListVersion | None) -> None:
    """Why: loading last month's file over today's would quietly un-list everyone added since.
    Only dates both files state are compared; a file without one loads as before."""
    if latest is None:
        return
    new, current = published_date(published), published_date(latest.published)
    if new is not None and current is not None and new < current:
        raise ListFileInvalid(
            f"this file was published {new.isoformat()}, before the loaded version "
            f"v{latest.number} ({current.isoformat()}); load the newer file"
        )


@service_transaction
def sanctions_list_load(*, actor: Actor, source: str, path: Path) -> LoadResult:
    """Load `path` as the next version of `source`'s list, in one transaction: entries added,
    changed (their content hash differs) and removed (absent from the file) are counted,
    audited, and a rescreen of every subject is made due. The same file as the current
    version again is a no-op (created=False). A broken file raises ListFileInvalid and
    leaves the current version as it was."""
    if source not in PARSERS:
        raise ValidationFailed(
            [FieldError("source", "invalid_choice", f"must be one of {', '.join(PARSERS)}")]
        )
    checksum = _checksum(path)
    # Why the lock: two loads of the same list at once would both number themselves n+1; the
    # second waits here and then sees the first's version (the unique index backs this up for
    # a list's very first load, when there is no row to lock).
    latest = (
        SanctionsListVersion.objects.select_for_update()
        .filter(source=source)
        .order_by("-number")
        .first()
    )
    if latest is not None and latest.checksum == checksum:
        return LoadResult(version=latest, created=False)
    version = SanctionsListVersion.objects.create(
        source=source,
        number=(latest.number if latest else 0) + 1,
        filename=path.name[:255],
        checksum=checksum,
        loaded_by=actor.label,
    )
    known = {
        external_id: (pk, content_hash, is_active)
        for external_id, pk, content_hash, is_active in SanctionsEntry.objects.filter(
            source=source
        ).values_list("external_id", "pk", "content_hash", "is_active")
    }
    seen: set[str] = set()
    added: list[SanctionsEntry] = []
    changed: list[SanctionsEntry] = []
    with path.open("rb") as stream:
        parsed = PARSERS[source](stream)
        for party in parsed.parties:
            if party.external_id in seen:
                continue  # a list repeating an id: the first one stands
            seen.add(party.external_id)
            content_hash = party.content_hash()
            fields = {
                "kind": party.kind,
                "names": party.names,
                "names_normalised": party.names_normalised(),
                "birth_dates": party.birth_dates,
                "countries": party.countries,
                "content_hash": content_hash,
                "is_active": True,
                "changed_in": version,
                "removed_in": None,
            }
            previous = known.get(party.external_id)
            if previous is None:
                added.append(
                    SanctionsEntry(
                        source=source, external_id=party.external_id, added_in=version, **fields
                    )
                )
            elif previous[1] != content_hash or not previous[2]:
                changed.append(SanctionsEntry(pk=previous[0], **fields))
    _refuse_older(parsed.published, latest)
    SanctionsEntry.objects.bulk_create(added, batch_size=BATCH)
    SanctionsEntry.objects.bulk_update(changed, ENTRY_CONTENT_FIELDS, batch_size=BATCH)
    removed = (
        SanctionsEntry.objects.filter(source=source, is_active=True)
        .exclude(external_id__in=seen)
        .update(is_active=False, removed_in=version)
    )
    version.published = parsed.published[:64]
    version.entries_total = len(seen)
    version.entries_added, version.entries_changed = len(added), len(changed)
    version.entries_removed = removed
    version.rescreen_due_at = timezone.now()
    version.save()
    audit_record(
        actor=actor,
        action="sanctions.list_loaded",
        target=version,
        data={
            "source": source,
            "number": version.number,
            "published": version.published,
            "filename": version.filename,
            "checksum": checksum,
            "total": version.entries_total,
            "added": version.entries_added,
            "changed": version.entries_changed,
            "removed": version.entries_removed,
        },
    )
    return LoadResult(version=version, created=True)


# ---------------------------------------------------------------------------------------------
# The matcher over the current lists, kept per process until a list is loaded again

_matcher_cache: tuple[tuple[int, int], Matcher] | None = None


def current_matcher() -> Matcher | None:
    """None when no list is loaded. One cheap query tells whether the cached matcher is still
    the current one (a load adds a version; versions are never deleted)."""
    global _matcher_cache
    latest = SanctionsListVersion.objects.order_by("-id").values_list("id", flat=True).first()
    if latest is None:
        return None
    key = (latest, settings.SANCTIONS_MATCH_THRESHOLD)
    if _matcher_cache is None or _matcher_cache[0] != key:
        entries = (
            EntryView(*row)
            for row in SanctionsEntry.objects.filter(is_active=True).values_list(
                "id", "content_hash", "names", "names_normalised", "birth_dates", "countries"
            )
        )
        _matcher_cache = (key, Matcher(entries, threshold=settings.SANCTIONS_MATCH_THRESHOLD))
    return _matcher_cache[1]


# ---------------------------------------------------------------------------------------------
# Subjects


def profile_subject(profile: Profile) -> Subject:
    return Subject(
        type=ScreeningHit.SubjectType.PROFILE,
        id=profile.pk,
        profile_id=profile.pk,
        name=profile.legal_name,
        country=profile.country,
    )


def membership_subject(membership: Membership) -> Subject | None:
    """A member is screened by their full name; a user without one (an API-only login) has
    nothing to screen. No country: the profile's country is not the member's."""
    name = membership.user.get_full_name().strip()
    if not name:
        return None
    return Subject(
        type=ScreeningHit.SubjectType.MEMBER,
        id=membership.pk,
        profile_id=membership.profile_id,
        name=name,
    )


def beneficiary_subject(beneficiary: Beneficiary) -> Subject:
    # No country: the beneficiary's is their bank's, which says nothing about the holder.
    return Subject(
        type=ScreeningHit.SubjectType.BENEFICIARY,
        id=beneficiary.pk,
        profile_id=beneficiary.profile_id,
        name=beneficiary.holder_name,
    )


def all_subjects() -> Iterator[Subject]:
    for profile in Profile.objects.only("pk", "legal_name", "country").iterator(chunk_size=BATCH):
        yield profile_subject(profile)
    for membership in Membership.objects.select_related("user").iterator(chunk_size=BATCH):
        subject = membership_subject(membership)
        if subject is not None:
            yield subject
    for beneficiary in (
        Beneficiary.objects.filter(is_active=True)
        .only("pk", "profile_id", "holder_name")
        .iterator(chunk_size=BATCH)
    ):
        yield beneficiary_subject(beneficiary)


# ---------------------------------------------------------------------------------------------
# Screening and hits


def _hit_payload(hit: ScreeningHit) -> dict[str, object]:
    return {
        "hit_id": hit.pk,
        "subject_type": hit.subject_type,
        "subject_id": hit.subject_id,
        "profile_id": hit.profile_id,
        "status": hit.status,
    }


def _hit_raise(*, actor: Actor, match: Match) -> ScreeningHit | None:
    subject, entry = match.subject, match.entry
    same_pair = ScreeningHit.objects.filter(
        subject_type=subject.type, subject_id=subject.id, entry_id=entry.id
    )
    if same_pair.filter(status__in=HOLDING_HIT_STATES).exists():
        return None  # already raised and not yet cleared
    if same_pair.filter(status=ScreeningHit.Status.CLEARED, entry_hash=entry.content_hash).exists():
        return None  # cleared against this very content of the entry: remembered
    changed_in, list_source, external_id = SanctionsEntry.objects.values_list(
        "changed_in_id", "source", "external_id"
    ).get(pk=entry.id)
    try:
        # A savepoint: a concurrent rescreen raising the same hit first (the partial unique
        # index refuses ours) must leave the caller's transaction usable.
        with transaction.atomic(), pghistory.context(actor=actor.label):
            hit = ScreeningHit.objects.create(
                subject_type=subject.type,
                subject_id=subject.id,
                profile_id=subject.profile_id,
                entry_id=entry.id,
                version_id=changed_in,
                entry_hash=entry.content_hash,
                score=match.score,
                subject_name=subject.name[:200],
                matched_name=match.matched_name[:500],
            )
    except IntegrityError:
        return None
    audit_record(
        actor=actor,
        action="screening.hit_opened",
        target=hit,
        data={**_hit_payload(hit), "entry_id": entry.id, "score": hit.score},
    )
    # profile_id=None on purpose: a hit must never reach the customer's webhooks (tipping
    # off); the event is for the platform's own consumers.
    event_emit(type="screening.hit_opened", profile_id=None, payload=_hit_payload(hit))
    # Every hit is worked in a case (the profile's active one, or a new one), in this
    # transaction: a hit is never held without a case to decide it.
    case_attach(
        actor=actor,
        profile=subject.profile_id,
        source=CASE_SOURCE,
        source_id=hit.pk,
        summary=f"{subject.type} {hit.subject_name} ~ {hit.matched_name} ({list_source} "
        f"{external_id})",
        score=hit.score,
    )
    return hit


def subjects_screen(*, actor: Actor, subjects: Iterable[Subject]) -> list[ScreeningHit]:
    """Screen `subjects` against the current lists; returns the hits newly raised. Each
    subject's hits are raised in one transaction (the caller's, when there is one)."""
    matcher = current_matcher()
    if matcher is None or not len(matcher):
        return []
    by_subject: dict[tuple[str, int], list[Match]] = {}
    for match in matcher.match(subjects):
        by_subject.setdefault((match.subject.type, match.subject.id), []).append(match)
    raised: list[ScreeningHit] = []
    for matches in by_subject.values():
        with transaction.atomic():
            for match in matches:
                hit = _hit_raise(actor=actor, match=match)
                if hit is not None:
                    raised.append(hit)
    return raised


def profile_screen(*, actor: Actor, profile: Profile) -> list[ScreeningHit]:
    return subjects_screen(actor=actor, subjects=[profile_subject(profile)])


def membership_screen(*, actor: Actor, membership: Membership) -> list[ScreeningHit]:
    subject = membership_subject(membership)
    return subjects_screen(actor=actor, subjects=[subject] if subject else [])


def beneficiary_screen(*, actor: Actor, beneficiary: Beneficiary) -> list[ScreeningHit]:
    return subjects_screen(actor=actor, subjects=[beneficiary_subject(beneficiary)])


def sanctions_rescreen_due(*, lease_seconds: int = 3600) -> int:
    """The scan: if any list version's rescreen is due, claim them all, screen every subject
    against the current lists, and mark them done. Returns the number of new hits.

    The claim moves the due time a lease ahead, so a worker that dies mid-run leaves the
    versions due again once the lease lapses (a rerun is harmless: raising is idempotent)."""
    now = timezone.now()
    with transaction.atomic():
        # SKIP LOCKED: a second scan running at the same moment takes nothing and leaves.
        due = list(
            SanctionsListVersion.objects.select_for_update(skip_locked=True)
            .filter(rescreen_due_at__lte=now)
            .values_list("pk", flat=True)
        )
        if not due:
            return 0
        SanctionsListVersion.objects.filter(pk__in=due).update(
            rescreen_due_at=now + timedelta(seconds=lease_seconds)
        )
    raised = subjects_screen(actor=Actor.system("sanctions_rescreen"), subjects=all_subjects())
    SanctionsListVersion.objects.filter(pk__in=due).update(
        rescreen_due_at=None, rescreened_at=timezone.now()
    )
    return len(raised)


def _hit_decide(*, actor: Actor, hit: ScreeningHit | int, note: str, status: str) -> ScreeningHit:
    return alert_decide(
        actor=actor, model=ScreeningHit, alert=hit, note=note, status=status,
        noun="screening hit", event_prefix="screening.hit", payload=_hit_payload,
        audit_data=lambda locked: {"entry_hash": locked.entry_hash},
    )  # fmt: skip


@service_transaction
def screening_hit_clear(*, actor: Actor, hit: ScreeningHit | int, note: str) -> ScreeningHit:
    """A false positive: the hold lifts, and this subject is not raised against this entry
    again until the entry's content changes."""
    return _hit_decide(
        actor=actor,
        hit=hit,
        note=note,
        status=ScreeningHit.Status.CLEARED,
    )


@service_transaction
def screening_hit_confirm(*, actor: Actor, hit: ScreeningHit | int, note: str) -> ScreeningHit:
    """A true match: the hold stays. Called by the case decision (closed as reported)."""
    return _hit_decide(
        actor=actor,
        hit=hit,
        note=note,
        status=ScreeningHit.Status.CONFIRMED,
    )
