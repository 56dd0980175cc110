"""Reads of the sync engine for operators (the admin) and customers (API v1).

A customer sees only connections of their own profile, and only the sync jobs of their own
objects on those connections: the platform's own books are not theirs to look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from fintech.core.errors import FieldError, NotFound, ValidationFailed
from fintech.customers.models import Profile
from fintech.transfers.models import Transfer
from integrations.sync.models import Connection, SyncJob

State = SyncJob.State
BACKLOG_STATES = (State.PENDING, State.RETRY_SCHEDULED)
# The object types a customer (and the operator's status page) can ask about, and how an
# object is named in a job: the engine's connectors key jobs by id or reference.
OBJECT_TYPES = ("transfer", "profile")


def connections_with_backlog(queryset: QuerySet[Connection]) -> QuerySet[Connection]:
    """`queryset` annotated with its jobs by state and the oldest waiting job (one query)."""
    return queryset.annotate(
        jobs_pending=Count("jobs", filter=Q(jobs__state=State.PENDING)),
        jobs_in_flight=Count("jobs", filter=Q(jobs__state=State.IN_FLIGHT)),
        jobs_retry=Count("jobs", filter=Q(jobs__state=State.RETRY_SCHEDULED)),
        jobs_failed=Count("jobs", filter=Q(jobs__state=State.FAILED)),
        jobs_dead=Count("jobs", filter=Q(jobs__state=State.DEAD)),
        jobs_skipped=Count("jobs", filter=Q(jobs__state=State.SKIPPED)),
        oldest_waiting_at=Min("jobs__created_at", filter=Q(jobs__state__in=BACKLOG_STATES)),
    )


def connections_for_profile(*, profile: Profile) -> QuerySet[Connection]:
    return Connection.objects.filter(
        owner=Connection.Owner.PROFILE, profile=profile, kind=Connection.Kind.ACCOUNTING
    ).order_by("-pk")


def connection_get_for_profile(*, profile: Profile, connection_id: object) -> Connection:
    """The profile's connection; anyone else's (or nonsense) is NotFound, never a 403."""
    key = str(connection_id)
    found = (
        connections_for_profile(profile=profile).filter(pk=int(key)).first()
        if key.isdigit() and len(key) < 18
        else None
    )
    if found is None:
        raise NotFound(f"connection {connection_id} not found")
    return found


@dataclass(frozen=True)
class ObjectSyncStatus:
    """One job of one local object: where it went and how it stands."""

    job_id: int
    connection_id: int
    provider: str
    tenant_name: str
    action: str
    state: str
    external_id: str
    external_number: str
    external_version: str
    attempts: int
    last_error_class: str
    last_error: str
    note: str
    next_attempt_at: datetime | None
    synced_at: datetime | None
    updated_at: datetime


def object_keys(*, object_type: str, object_id: str, profile_id: int | None = None) -> list[str]:
    """Every way a job may name this object (a transfer by id or by reference).

    With `profile_id`, the object must be that profile's (else NotFound)."""
    key = str(object_id).strip()
    if object_type == "transfer":
        transfers = Transfer.objects.all()
        if profile_id is not None:
            transfers = transfers.filter(profile_id=profile_id)
        match = Q(reference=key.upper())
        if key.isdigit() and len(key) < 18:
            match |= Q(pk=int(key))
        row = transfers.filter(match).values_list("pk", "reference").first()
        if row is None:
            if profile_id is not None:
                raise NotFound(f"transfer {object_id} not found")
            return [key]
        return [str(row[0]), row[1]]
    if object_type == "profile":
        if profile_id is not None and key != str(profile_id):
            raise NotFound(f"profile {object_id} not found")
        return [key]
    if profile_id is not None:
        raise ValidationFailed(
            [FieldError("object_type", "invalid_choice", f"one of {', '.join(OBJECT_TYPES)}")]
        )
    return [key]


def object_sync_status(
    *, object_type: str, object_id: str, profile_id: int | None = None
) -> list[ObjectSyncStatus]:
    """The sync jobs of one local object, newest first. With `profile_id` (a customer asking),
    only that profile's object and jobs on that profile's own connections."""
    keys = object_keys(object_type=object_type, object_id=object_id, profile_id=profile_id)
    jobs = SyncJob.objects.filter(object_type=object_type, object_id__in=keys).select_related(
        "connection"
    )
    if profile_id is not None:
        jobs = jobs.filter(connection__profile_id=profile_id)
    return [
        ObjectSyncStatus(
            job_id=job.pk,
            connection_id=job.connection_id,
            provider=job.connection.provider,
            tenant_name=job.connection.tenant_name,
            action=job.action,
            state=job.state,
            external_id=job.external_id,
            external_number=job.external_number,
            external_version=job.external_version,
            attempts=job.attempts,
            last_error_class=job.last_error_class,
            last_error=job.last_error,
            note=job.note,
            next_attempt_at=(job.next_attempt_at if job.state in BACKLOG_STATES else None),
            synced_at=job.synced_at,
            updated_at=job.updated_at,
        )
        for job in jobs.order_by("-created_at", "-pk")
    ]


def connection_token_status(connection: Connection) -> str:
    """What an operator needs to know about the grant, never the tokens themselves."""
    if connection.status == Connection.Status.RECONNECT_REQUIRED:
        return "reconnect required"
    if connection.status == Connection.Status.DISCONNECTED:
        return "disconnected"
    expires = connection.token_expires_at
    if expires is None:
        return "no token"
    if expires <= timezone.now():
        return "expired (refreshed on next use)"
    return "valid"
