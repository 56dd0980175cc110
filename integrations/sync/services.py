"""The sync engine: jobs from events, run at most once at a time, retried through the queue.

Ledger event -> a connector's handler calls `job_ensure` (in the event's dispatch transaction:
the job exists exactly when the event is dispatched) -> `integrations.sync_job_run(job_id)`
-> `job_run` claims the job (a conditional UPDATE that must change one row), checks the
connection and its account mapping, and hands it to the provider's adapter with no
transaction open; the adapter looks the object up by our reference, creates or updates it
with an Idempotency-Key, and returns its external id. The outcome is written with the job's
transitions: synced; failed (the provider refused the request as it is: an operator looks);
retry_scheduled (timeouts, 5xx: backoff with jitter) until SYNC_MAX_ATTEMPTS, then dead;
back to pending without an attempt spent when the connection is paused or over its limits.

Nothing waits in Redis: a job is due at `next_attempt_at`, and the beat scanner publishes
what is due (`jobs_due`); a worker killed mid-job leaves its lease to lapse and the job is
run again, which is safe because the adapter looks up before it creates.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from fintech.core.metrics import metric_incr
from fintech.core.services import Actor, audit_record
from integrations import claims
from integrations.errors import NotReady, PermanentError, RateLimited, ReconnectRequired
from integrations.sync import oauth
from integrations.sync.adapters import JobContext, Skipped, adapter_for
from integrations.sync.models import AccountMapping, Connection, ExternalAccount, SyncJob

logger = logging.getLogger(__name__)

RUN_TASK = "integrations.sync_job_run"
State = SyncJob.State
# Seconds before attempts 2, 3, ... (the last repeats), each +/- 20% so a burst of failures
# does not come back as a burst.
BACKOFF = (5, 30, 120, 600, 1800, 3600)
# Why 10 s when the connection is busy or a prerequisite is not synced: soon, but not a spin.
WAIT_SECONDS = 10
# Advisory-lock namespace for "count in-flight jobs, then claim" per connection.
_CONCURRENCY_LOCK = 0x5359


def lease_seconds() -> int:
    return int(settings.SYNC_JOB_LEASE_SECONDS)


# --- jobs from events -------------------------------------------------------------------


def job_ensure(
    *,
    connection: Connection,
    object_type: str,
    object_id: str,
    action: str,
    event_id: Any = None,
    depends_on: SyncJob | None = None,
) -> tuple[SyncJob, bool]:
    """The job for (connection, object, action), created once; a replayed event finds it."""
    now = timezone.now()
    job, created = SyncJob.objects.get_or_create(
        connection=connection,
        object_type=object_type,
        object_id=str(object_id),
        action=action,
        defaults={
            "event_id": event_id,
            "depends_on": depends_on,
            "next_attempt_at": now,
            "enqueued_at": now,
        },
    )
    if created and (depends_on is None or depends_on.state == State.SYNCED):
        claims.enqueue_on_commit(RUN_TASK, SyncJob, job.pk)
    return job, created


def _prerequisite_ready() -> Q:
    synced = SyncJob.objects.filter(pk=OuterRef("depends_on_id"), state=State.SYNCED)
    return Q(depends_on__isnull=True) | Q(Exists(synced))


def _ready(now: Any) -> Q:
    # In flight counts too: with its lease lapsed (claims.lock_free), its worker died.
    return (
        Q(
            state__in=[State.PENDING, State.RETRY_SCHEDULED, State.IN_FLIGHT],
            next_attempt_at__lte=now,
        )
        & Q(connection__status=Connection.Status.ACTIVE)
        & (Q(connection__blocked_until__isnull=True) | Q(connection__blocked_until__lte=now))
    )


def jobs_due() -> list[int]:
    now = timezone.now()
    return claims.take_due(
        SyncJob,
        ready=_ready(now) & _prerequisite_ready(),
        limit=500,
        republish_after_seconds=lease_seconds(),
        order_by=("next_attempt_at", "pk"),
        due_field="next_attempt_at",
    )


# --- running one job --------------------------------------------------------------------


def _claim(job_id: int) -> bool:
    now = timezone.now()
    connection_id = SyncJob.objects.filter(pk=job_id).values_list("connection_id", flat=True)
    cid = connection_id.first()
    if cid is None:
        return False
    with transaction.atomic():
        # Why an advisory lock: "how many are in flight" and "claim one more" must be one
        # step per connection, or six workers each count four and all start (the provider
        # allows five concurrent calls per tenant).
        with db.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_CONCURRENCY_LOCK, cid])
        limit = Connection.objects.filter(pk=cid).values_list("max_concurrent", flat=True)
        in_flight = SyncJob.objects.filter(
            connection_id=cid, state=State.IN_FLIGHT, locked_until__gt=now
        ).count()
        if in_flight >= (limit.first() or 1):
            # Busy: due again shortly (the scanner publishes it then); no attempt spent.
            SyncJob.objects.filter(
                pk=job_id, state__in=[State.PENDING, State.RETRY_SCHEDULED]
            ).update(next_attempt_at=now + timedelta(seconds=1))
            return False
        return claims.claim_one(
            SyncJob,
            job_id,
            lease_seconds=lease_seconds(),
            ready=_ready(now) & _prerequisite_ready(),
            state=State.IN_FLIGHT,
        )


def _roles(connection: Connection) -> dict[str, str]:
    return dict(
        AccountMapping.objects.filter(connection=connection).values_list("role", "account_code")
    )


def job_run(*, job_id: int) -> str:
    """Run one job if it is due and nobody runs it; returns what happened (for the log)."""
    if not _claim(job_id):
        return "skipped"
    job = SyncJob.objects.select_related("connection", "depends_on").get(pk=job_id)
    connection = job.connection
    started = timezone.now()
    try:
        problems = mapping_problems(connection=connection)
        if problems:
            raise PermanentError("account mapping incomplete: " + "; ".join(problems))
        context = JobContext(
            connection=connection,
            job=job,
            roles=_roles(connection),
            prerequisite_external_id=job.depends_on.external_id if job.depends_on else "",
        )
        # No transaction is open here: the adapter makes HTTP calls.
        outcome = adapter_for(connection.provider).perform(context)
    except RateLimited as exc:
        return _finish_not_attempted(job, exc.message, wait=exc.retry_after_seconds)
    except ReconnectRequired as exc:
        return _finish_not_attempted(job, exc.message, wait=WAIT_SECONDS)
    except NotReady as exc:
        return _finish_not_attempted(job, exc.message, wait=WAIT_SECONDS)
    except PermanentError as exc:
        return _finish(job, "fail", error=exc)
    except Exception as exc:  # transient, or a bug: retried with backoff, then dead
        if not getattr(exc, "transient", False):
            logger.exception("sync job %s raised", job.pk)
        return _finish(job, "retry", error=exc)
    finally:
        elapsed_ms = int((timezone.now() - started).total_seconds() * 1000)
        metric_incr("sync_job_ms", by=elapsed_ms, labels={"provider": connection.provider})
    if isinstance(outcome, Skipped):
        return _finish(job, "skip", note=outcome.note)
    return _finish(
        job,
        "succeed",
        fields={
            "external_id": outcome.external_id[:100],
            "external_version": outcome.external_version[:100],
            "external_number": outcome.external_number[:100],
            "payload_hash": outcome.payload_hash[:64],
            "external_summary": outcome.summary,
        },
    )


def _backoff(attempts: int) -> timedelta:
    base = BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 (jitter)


def _locked_job(job: SyncJob) -> SyncJob:
    return SyncJob.objects.select_for_update().get(pk=job.pk)


def _finish_not_attempted(job: SyncJob, message: str, *, wait: float) -> str:
    with transaction.atomic():
        row = _locked_job(job)
        if row.state != State.IN_FLIGHT:
            return "lost"
        row.put_back()
        row.attempts = max(row.attempts - 1, 0)  # the claim counted one; nothing was tried
        row.next_attempt_at = timezone.now() + timedelta(seconds=max(wait, 1))
        row.last_error = message[:2000]
        row.locked_until = None
        row.save()
    return "waiting"


def _finish(
    job: SyncJob,
    how: str,
    *,
    error: BaseException | None = None,
    note: str = "",
    fields: dict[str, Any] | None = None,
) -> str:
    now = timezone.now()
    error_class = type(error).__name__ if error is not None else ""
    message = str(getattr(error, "message", error) or "")[:2000] if error is not None else ""
    with transaction.atomic():
        row = _locked_job(job)
        if row.state != State.IN_FLIGHT:
            return "lost"  # an operator acted meanwhile; their decision stands
        if how == "succeed":
            row.succeed()
            for name, value in (fields or {}).items():
                setattr(row, name, value)
            row.last_error = row.last_error_class = ""
        elif how == "skip":
            row.put_back()
            row.skip()
            row.note = note[:2000]
        elif how == "fail":
            row.fail()
        elif row.attempts >= settings.SYNC_MAX_ATTEMPTS:
            row.give_up()
        else:
            row.schedule_retry()
            row.next_attempt_at = now + _backoff(row.attempts)
        if error is not None:
            row.last_error_class, row.last_error = error_class[:100], message
        row.locked_until = None
        row.save()
        outcome = row.state
        dependents: list[int] = []
        if outcome == State.SYNCED:
            # At most once a second per connection: a busy queue need not rewrite its row
            # after every job to say it is alive.
            Connection.objects.filter(
                Q(last_success_at__isnull=True) | Q(last_success_at__lt=now - timedelta(seconds=1)),
                pk=row.connection_id,
            ).update(last_success_at=now)
            dependents = list(
                SyncJob.objects.filter(depends_on=row, state=State.PENDING).values_list(
                    "pk", flat=True
                )
            )
            claims.enqueue_on_commit(RUN_TASK, SyncJob, *dependents)
        else:
            Connection.objects.filter(pk=row.connection_id).update(last_error_at=now)
    labels = {
        "connection": str(job.connection_id),
        "provider": job.connection.provider,  # CRM update failures: provider="hubspot" etc.
        "class": error_class or outcome,
    }
    if error is not None:
        metric_incr("sync_errors", labels=labels)
    metric_incr("sync_jobs", labels={"provider": job.connection.provider, "state": outcome})
    return str(outcome)


# --- operators ---------------------------------------------------------------------------


def job_retry(*, actor: Actor, job_id: int, reason: str) -> SyncJob:
    """Put a failed, dead, skipped or waiting job back in the queue now."""
    with transaction.atomic():
        job = SyncJob.objects.select_for_update().get(pk=job_id)
        if job.state not in (State.FAILED, State.DEAD, State.SKIPPED, State.RETRY_SCHEDULED):
            raise PermanentError(f"a {job.get_state_display().lower()} job cannot be retried")
        job.retry()
        job.attempts = 0
        job.enqueued_at = timezone.now()
        job.save()
        audit_record(actor=actor, action="sync_job.retry", target=job, reason=reason)
        claims.enqueue_on_commit(RUN_TASK, SyncJob, job.pk)
    return job


def jobs_retry(*, actor: Actor, jobs: QuerySet[SyncJob], reason: str) -> int:
    """Retry every job of `jobs` that can be retried (the admin's "retry all matching")."""
    retried = 0
    retryable = [State.FAILED, State.DEAD, State.SKIPPED, State.RETRY_SCHEDULED]
    for job_id in jobs.filter(state__in=retryable).values_list("pk", flat=True).iterator():
        job_retry(actor=actor, job_id=job_id, reason=reason)
        retried += 1
    return retried


def job_skip(*, actor: Actor, job_id: int, note: str) -> SyncJob:
    """Decide a job will not be synced (with the reason, which operators see)."""
    if not note.strip():
        raise PermanentError("say why the job is skipped")
    with transaction.atomic():
        job = SyncJob.objects.select_for_update().get(pk=job_id)
        if job.state not in (State.PENDING, State.FAILED, State.RETRY_SCHEDULED, State.DEAD):
            raise PermanentError(f"a {job.get_state_display().lower()} job cannot be skipped")
        job.skip()
        job.note = note[:2000]
        job.save()
        audit_record(actor=actor, action="sync_job.skip", target=job, reason=note)
    return job


# --- connections and their account mapping -------------------------------------------------


def mapping_problems(*, connection: Connection) -> list[str]:
    """What stops this connection's jobs: unmapped roles, mapped accounts missing or archived."""
    adapter = adapter_for(connection.provider)
    mapped = _roles(connection)
    accounts = {a.code: a for a in ExternalAccount.objects.filter(connection=connection)}
    problems = []
    for role in adapter.roles(connection=connection):
        code = mapped.get(role.name)
        if not code:
            if role.required:
                problems.append(f"{role.name} is not mapped")
            continue
        account = accounts.get(code)
        if account is None:
            problems.append(f"{role.name}: account {code} does not exist in {connection.provider}")
        elif account.status.upper() != "ACTIVE":
            problems.append(f"{role.name}: account {code} is {account.status.lower()}")
        elif role.account_types and account.type.upper() not in {
            t.upper() for t in role.account_types
        }:
            problems.append(
                f"{role.name}: account {code} is of type {account.type}, "
                f"expected {' or '.join(role.account_types)}"
            )
        elif role.currency and account.currency and account.currency != role.currency:
            problems.append(
                f"{role.name}: account {code} is in {account.currency}, not {role.currency}"
            )
    return problems


def mapping_set(
    *, actor: Actor, connection_id: int, role: str, account_code: str
) -> AccountMapping:
    connection = Connection.objects.get(pk=connection_id)
    roles = {r.name for r in adapter_for(connection.provider).roles(connection=connection)}
    if role not in roles:
        raise PermanentError(f"role {role!r} is not one of {', '.join(sorted(roles))}")
    account_code = account_code.strip()
    with transaction.atomic():
        mapping, _ = AccountMapping.objects.update_or_create(
            connection=connection,
            role=role,
            defaults={"account_code": account_code, "updated_by": actor.label},
        )
        audit_record(
            actor=actor,
            action="account_mapping.set",
            target=connection,
            data={"role": role, "account_code": account_code},
        )
    return mapping


def accounts_refresh(*, connection_id: int) -> int:
    """Fetch their chart of accounts and organisation details into the cache."""
    connection = Connection.objects.get(pk=connection_id)
    adapter = adapter_for(connection.provider)
    organisation = adapter.organisation(connection=connection)
    accounts = adapter.accounts(connection=connection)
    now = timezone.now()
    with transaction.atomic():
        for account in accounts:
            ExternalAccount.objects.update_or_create(
                connection=connection,
                external_id=account.external_id,
                defaults={
                    "code": account.code,
                    "name": account.name[:200],
                    "type": account.type,
                    "account_class": account.account_class,
                    "status": account.status,
                    "currency": account.currency,
                    "fetched_at": now,
                },
            )
        ExternalAccount.objects.filter(connection=connection).exclude(
            external_id__in=[a.external_id for a in accounts]
        ).delete()
        Connection.objects.filter(pk=connection_id).update(
            accounts_fetched_at=now,
            base_currency=organisation.base_currency,
            currencies=list(organisation.currencies),
        )
    return len(accounts)


def connection_start(
    *,
    actor: Actor,
    provider: str,
    profile_id: int | None,
    redirect_uri: str | None = None,
    return_to: str = "",
) -> tuple[Connection, str]:
    """Begin connecting (or reconnecting) the platform's or a profile's books; returns the
    connection and the provider's authorization URL to send the user to."""
    adapter = adapter_for(provider)
    owner = Connection.Owner.PROFILE if profile_id else Connection.Owner.PLATFORM
    with transaction.atomic():
        connection = (
            Connection.objects.select_for_update()
            .filter(provider=provider, owner=owner)
            .filter(Q(profile_id=profile_id) if profile_id else Q(profile__isnull=True))
            .exclude(status=Connection.Status.DISCONNECTED)
            .first()
        )
        if connection is None:
            connection = Connection.objects.create(
                provider=provider,
                kind=adapter.kind,
                owner=owner,
                profile_id=profile_id,
                created_by=actor.label,
                **_limits(provider),
            )
        audit_record(actor=actor, action="connection.start", target=connection)
    url = oauth.authorization_start(
        connection=connection,
        redirect_uri=redirect_uri or oauth.callback_url(),
        created_by=actor.label,
        return_to=return_to,
    )
    return connection, url


def _limits(provider: str) -> dict[str, int]:
    limits: dict[str, dict[str, int]] = settings.SYNC_PROVIDER_LIMITS
    return dict(limits.get(provider, {}))


def connection_finish(
    *, state: str, code: str, callback: Mapping[str, str] | None = None
) -> Connection:
    """The provider redirected back with a code: tokens, organisation, accounts.
    `callback`: the redirect's other parameters (Intuit sends the company's `realmId`)."""
    authorization = oauth.authorization_take(state=state)
    token = oauth.code_exchange(authorization=authorization, code=code)
    connection = authorization.connection
    adapter = adapter_for(connection.provider)
    tenants = adapter.tenants(access_token=str(token["access_token"]), callback=callback or {})
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        if connection.tenant_id and connection.tenant_id not in {t.tenant_id for t in tenants}:
            # A reconnect that signed in to other books: its jobs must not go there.
            reached = ", ".join(f"{t.name} ({t.tenant_id})" for t in tenants) or "none"
            raise PermanentError(
                f"this sign-in reaches {reached}, not {connection.tenant_name} "
                f"({connection.tenant_id}) that this connection syncs with: sign in to that "
                "one, or disconnect and connect the other books as a new connection"
            )
        oauth.tokens_store(connection=connection, token=token)
        connection.available_tenants = [
            {"tenant_id": t.tenant_id, "name": t.name, "connection_ref": t.connection_ref}
            for t in tenants
        ]
        keep = [t for t in tenants if t.tenant_id == connection.tenant_id]
        chosen = keep[0] if keep else (tenants[0] if len(tenants) == 1 else None)
        if chosen is None:
            connection.status = Connection.Status.SELECT_TENANT
            connection.status_reason = f"{len(tenants)} organisations: choose one"
        else:
            connection.tenant_id, connection.tenant_name = chosen.tenant_id, chosen.name
            connection.status, connection.status_reason = Connection.Status.ACTIVE, ""
        connection.save()
        audit_record(
            actor=Actor.system(f"oauth:{authorization.created_by}"),
            action="connection.connected",
            target=connection,
            data={"tenant_id": connection.tenant_id, "tenants": len(tenants)},
        )
        if connection.status == Connection.Status.ACTIVE:
            _queue_wake(connection)
    if connection.status == Connection.Status.ACTIVE:
        accounts_refresh(connection_id=connection.pk)
    return connection


def connection_tenant_choose(*, actor: Actor, connection_id: int, tenant_id: str) -> Connection:
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection_id)
        match = [t for t in connection.available_tenants if t["tenant_id"] == tenant_id]
        if not match:
            raise PermanentError(f"organisation {tenant_id!r} is not one this grant reaches")
        connection.tenant_id, connection.tenant_name = tenant_id, match[0]["name"]
        connection.status, connection.status_reason = Connection.Status.ACTIVE, ""
        connection.save()
        audit_record(actor=actor, action="connection.tenant_chosen", target=connection)
        _queue_wake(connection)
    accounts_refresh(connection_id=connection_id)
    return connection


def _queue_wake(connection: Connection) -> None:
    """A connection (re)activated: its waiting jobs are due now, and the unfinished jobs of
    an earlier, disconnected connection to the same organisation carry on here (what was
    synced there stays there, as history)."""
    _jobs_adopt(connection)
    SyncJob.objects.filter(
        connection=connection, state__in=[State.PENDING, State.RETRY_SCHEDULED]
    ).update(next_attempt_at=timezone.now())


def connection_activated(*, connection: Connection) -> None:
    """A connection made active outside the OAuth dance (a private app's token): its waiting
    jobs are due now, and it takes over an earlier connection's unfinished ones."""
    _queue_wake(connection)


def _jobs_adopt(connection: Connection) -> None:
    whose = Q(profile_id=connection.profile_id) if connection.profile_id else Q(profile=None)
    earlier = Connection.objects.filter(
        whose,
        provider=connection.provider,
        owner=connection.owner,
        tenant_id=connection.tenant_id,
        status=Connection.Status.DISCONNECTED,
    ).exclude(pk=connection.pk)
    unfinished = [State.PENDING, State.FAILED, State.RETRY_SCHEDULED, State.DEAD]
    taken = SyncJob.objects.filter(connection=connection).values(
        "object_type", "object_id", "action"
    )
    keys = {(t["object_type"], t["object_id"], t["action"]) for t in taken}
    for job in SyncJob.objects.filter(connection__in=earlier, state__in=unfinished):
        if (job.object_type, job.object_id, job.action) in keys:
            continue  # this connection has its own job for it
        # Only state-neutral fields: the job moves, its history (attempts, errors) with it.
        SyncJob.objects.filter(pk=job.pk).update(connection=connection, locked_until=None)
        keys.add((job.object_type, job.object_id, job.action))


def connection_disconnect(*, actor: Actor, connection_id: int, reason: str) -> Connection:
    """Revoke at the provider, forget the tokens. Unfinished jobs wait: a later connection to
    the same organisation takes them over (`_jobs_adopt`)."""
    connection = Connection.objects.get(pk=connection_id)
    if connection.status == Connection.Status.ACTIVE:
        try:
            adapter_for(connection.provider).disconnect(connection=connection)
        except Exception as exc:  # disconnect anyway: the grant is revoked below
            logger.warning("provider disconnect failed for %s: %s", connection_id, exc)
    oauth.token_revoke(connection=connection)
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection_id)
        connection.status = Connection.Status.DISCONNECTED
        connection.status_reason = reason[:1000]
        connection.access_token = connection.refresh_token = ""
        connection.token_expires_at = None
        connection.save()
        audit_record(actor=actor, action="connection.disconnect", target=connection, reason=reason)
    return connection


def connection_settings_set(
    *,
    actor: Actor,
    connection_id: int,
    mode: str,
    tax_type: str,
    tracking: list[dict[str, str]],
) -> Connection:
    """How a connection posts: each object or daily journals, the tax type and the tracking
    options on every line. Each bad value is named; nothing is saved unless all are good."""
    problems = []
    if mode not in Connection.Mode.values:
        problems.append(f"mode: {mode!r} is not one of {', '.join(Connection.Mode.values)}")
    tax_type = tax_type.strip()
    if len(tax_type) > 50 or not all(c.isalnum() or c == "_" for c in tax_type):
        problems.append("tax type: letters, digits and _ only, at most 50 (Xero's TaxType code)")
    if len(tracking) > 2:
        problems.append("tracking: at most two categories (Xero's limit)")
    for item in tracking:
        name, option = item.get("name", "").strip(), item.get("option", "").strip()
        if not name or not option or len(name) > 100 or len(option) > 100:
            problems.append(f"tracking: {item!r} needs a name and an option of 1 to 100 characters")
    if problems:
        raise PermanentError("; ".join(problems))
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection_id)
        before = {
            "mode": connection.mode,
            "tax_type": connection.tax_type,
            "tracking": connection.tracking,
        }
        connection.mode, connection.tax_type = mode, tax_type
        connection.tracking = [
            {"name": t["name"].strip(), "option": t["option"].strip()} for t in tracking
        ]
        connection.save(update_fields=["mode", "tax_type", "tracking", "updated_at"])
        audit_record(
            actor=actor,
            action="connection.settings",
            target=connection,
            data={
                "before": before,
                "mode": mode,
                "tax_type": tax_type,
                "tracking": connection.tracking,
            },
        )
    return connection
