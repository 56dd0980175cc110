"""Our events -> accounting sync jobs, for every accounting connector (Xero, QuickBooks).

Each connector names its actions in a `Plan`; the jobs each event makes, per connection (the
platform's books; the profile's own books), are the same everywhere:

- `transfer.submitted` (fee and FX margin booked): platform books: the customer's contact,
  then the plan's `submitted` actions (each depending on the contact).
- `transfer.completed`: platform books: the plan's `completed` action (depending on the job
  it settles, when there is one); the customer's books: the supplier payout.
- `transfer.failed`: platform books: an exception for operators; what reached the provider
  is reversed (`reversals`), what did not is skipped: nothing new is posted.
- `payment.refunded`: platform books: the same reversals, for the refund.
- `wallet.funded`: platform books: contact, then the funding; the customer's books: their
  funding.

They run inside each event's dispatch transaction. A job is unique per (connection, object,
action): a replayed event adds nothing. In daily-journal mode the platform's books get one
journal per day and currency instead (journals.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fintech.core.models import OutboxEvent
from integrations.sync.models import Connection, SyncJob, SyncMismatch
from integrations.sync.services import job_ensure

State = SyncJob.State
# Jobs not yet at the provider when their transfer fails: nothing of them is posted.
_UNSENT = (State.PENDING, State.FAILED, State.RETRY_SCHEDULED, State.DEAD)

Handler = Callable[[OutboxEvent], None]


@dataclass(frozen=True)
class Plan:
    provider: str  # "xero"
    label: str  # "Xero", in what operators read
    submitted: tuple[str, ...]  # actions of a submitted transfer, after the contact
    completed: tuple[str, str] | None  # (action, the action it settles) or None
    reversals: Mapping[str, str]  # action -> the action that reverses it
    reversed_by: str  # "a credit note", said on the failed transfer's exception


def _connections(
    provider: str, *, profile_id: int | None
) -> tuple[list[Connection], list[Connection]]:
    """(platform connections, the profile's own connections) that take per-object jobs.
    Paused connections are included: their jobs wait for the reconnect."""
    live = Connection.objects.filter(provider=provider).exclude(
        status__in=[Connection.Status.DISCONNECTED, Connection.Status.AUTHORIZING]
    )
    platform = list(live.filter(owner=Connection.Owner.PLATFORM, mode=Connection.Mode.PER_OBJECT))
    own = (
        list(live.filter(owner=Connection.Owner.PROFILE, profile_id=profile_id))
        if profile_id
        else []
    )
    return platform, own


def _contact(connection: Connection, profile_id: int, event: OutboxEvent) -> SyncJob:
    job, _ = job_ensure(
        connection=connection,
        object_type="profile",
        object_id=str(profile_id),
        action="contact",
        event_id=event.id,
    )
    return job


def handlers_for(plan: Plan) -> dict[str, Handler]:
    """The event handlers of one accounting connector (registered by its `register()`)."""

    def on_transfer_submitted(event: OutboxEvent) -> None:
        reference, profile_id = str(event.payload["reference"]), event.profile_id
        platform, _ = _connections(plan.provider, profile_id=profile_id)
        for connection in platform:
            contact = _contact(connection, int(profile_id or 0), event)
            for action in plan.submitted:
                job_ensure(
                    connection=connection,
                    object_type="transfer",
                    object_id=reference,
                    action=action,
                    event_id=event.id,
                    depends_on=contact,
                )

    def on_transfer_completed(event: OutboxEvent) -> None:
        reference, profile_id = str(event.payload["reference"]), event.profile_id
        platform, own = _connections(plan.provider, profile_id=profile_id)
        for connection in platform if plan.completed else ():
            action, settles = plan.completed or ("", "")
            settled = SyncJob.objects.filter(
                connection=connection, object_type="transfer", object_id=reference, action=settles
            ).first()
            if settled is not None:
                job_ensure(
                    connection=connection,
                    object_type="transfer",
                    object_id=reference,
                    action=action,
                    event_id=event.id,
                    depends_on=settled,
                )
        for connection in own:
            job_ensure(
                connection=connection,
                object_type="transfer",
                object_id=reference,
                action="supplier_payout",
                event_id=event.id,
            )

    def reverse(event: OutboxEvent, *, object_type: str) -> None:
        """Reverse what reached the provider for this transfer; skip what never left."""
        reference = str(event.payload["reference"])
        platform, _ = _connections(plan.provider, profile_id=event.profile_id)
        for connection in platform:
            jobs = SyncJob.objects.select_for_update().filter(
                connection=connection, object_type="transfer", object_id=reference
            )
            for job in jobs:
                if object_type == "transfer" and job.state in _UNSENT:
                    job.skip()
                    job.note = (
                        f"transfer {reference} failed before this reached {plan.label}: "
                        "nothing posted"
                    )
                    job.save()
                    continue
                reversal = plan.reversals.get(job.action)
                if reversal and job.state not in (
                    State.SKIPPED,
                    *(_UNSENT if object_type == "transfer" else ()),
                ):
                    job_ensure(
                        connection=connection,
                        object_type=object_type,
                        object_id=reference,
                        action=reversal,
                        event_id=event.id,
                        depends_on=job,
                    )

    def on_transfer_failed(event: OutboxEvent) -> None:
        reference = str(event.payload["reference"])
        platform, _ = _connections(plan.provider, profile_id=event.profile_id)
        for connection in platform:
            # The exception operators see; unique while open, so a replay adds nothing.
            SyncMismatch.objects.get_or_create(
                connection=connection,
                kind=SyncMismatch.Kind.TRANSFER_FAILED,
                object_type="transfer",
                object_id=reference,
                external_id="",
                status=SyncMismatch.Status.OPEN,
                defaults={
                    "detail": f"transfer {reference} failed: nothing new is posted to "
                    f"{plan.label}; anything already posted is reversed by {plan.reversed_by}",
                    "ours": {"state": str(event.payload.get("state", ""))},
                },
            )
        reverse(event, object_type="transfer")

    def on_payment_refunded(event: OutboxEvent) -> None:
        reverse(event, object_type="refund")

    def on_wallet_funded(event: OutboxEvent) -> None:
        entry_id = str(event.payload["entry_id"])
        profile_id = int(event.payload["profile_id"])
        platform, own = _connections(plan.provider, profile_id=profile_id)
        for connection in platform:
            contact = _contact(connection, profile_id, event)
            job_ensure(
                connection=connection,
                object_type="funding",
                object_id=entry_id,
                action="funding",
                event_id=event.id,
                depends_on=contact,
            )
        for connection in own:
            job_ensure(
                connection=connection,
                object_type="funding",
                object_id=entry_id,
                action="customer_funding",
                event_id=event.id,
            )

    return {
        "transfer.submitted": on_transfer_submitted,
        "transfer.completed": on_transfer_completed,
        "transfer.failed": on_transfer_failed,
        "payment.refunded": on_payment_refunded,
        "wallet.funded": on_wallet_funded,
    }
