"""Our events -> Xero sync jobs (run inside each event's dispatch transaction).

Which jobs each event makes, per connection (the platform's books; the profile's own books):

- `transfer.submitted` (fee and FX margin booked): platform books: contact, fee invoice, FX
  margin receipt.
- `transfer.completed`: platform books: payment of the fee invoice; the customer's books: the
  supplier payout (a bill payment, or spend money with the fee as its own line).
- `transfer.failed`: platform books: an exception for operators; what reached Xero is reversed,
  what did not is skipped.
- `payment.refunded`: platform books: a credit note for the fee, the FX margin reversed.
- `wallet.funded`: platform books: contact, receipt into client money; the customer's books:
  receipt into their wallet account.

In daily-journal mode the platform's books get one manual journal per day and currency instead
(journals.py). A job is unique per (connection, object, action): a replayed event adds nothing.
"""

from __future__ import annotations

from fintech.core.models import OutboxEvent
from integrations.connectors.accounting.xero.client import PROVIDER
from integrations.sync.models import Connection, SyncJob, SyncMismatch
from integrations.sync.services import job_ensure

State = SyncJob.State
# Jobs not yet in Xero when their transfer fails: nothing of them is posted.
_UNSENT = (State.PENDING, State.FAILED, State.RETRY_SCHEDULED, State.DEAD)


def _connections(
    *, profile_id: int | None, per_object: bool = True
) -> tuple[list[Connection], list[Connection]]:
    """(platform connections, the profile's own connections) that take per-object jobs.
    Paused connections are included: their jobs wait for the reconnect."""
    live = Connection.objects.filter(provider=PROVIDER).exclude(
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


def on_transfer_submitted(event: OutboxEvent) -> None:
    reference, profile_id = str(event.payload["reference"]), event.profile_id
    platform, _ = _connections(profile_id=profile_id)
    for connection in platform:
        contact = _contact(connection, int(profile_id or 0), event)
        for action in ("fee_invoice", "fx_margin"):
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
    platform, own = _connections(profile_id=profile_id)
    for connection in platform:
        invoice = SyncJob.objects.filter(
            connection=connection, object_type="transfer", object_id=reference, action="fee_invoice"
        ).first()
        if invoice is not None:
            job_ensure(
                connection=connection,
                object_type="transfer",
                object_id=reference,
                action="fee_payment",
                event_id=event.id,
                depends_on=invoice,
            )
    for connection in own:
        job_ensure(
            connection=connection,
            object_type="transfer",
            object_id=reference,
            action="supplier_payout",
            event_id=event.id,
        )


def _reverse(event: OutboxEvent, *, object_type: str) -> None:
    """Reverse what reached Xero for this transfer; skip what never left."""
    reference = str(event.payload["reference"])
    platform, _ = _connections(profile_id=event.profile_id)
    for connection in platform:
        jobs = SyncJob.objects.select_for_update().filter(
            connection=connection, object_type="transfer", object_id=reference
        )
        for job in jobs:
            if object_type == "transfer" and job.state in _UNSENT:
                job.skip()
                job.note = f"transfer {reference} failed before this reached Xero: nothing posted"
                job.save()
                continue
            reversal = {"fee_invoice": "fee_credit_note", "fx_margin": "fx_margin_reversal"}.get(
                job.action
            )
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
    platform, _ = _connections(profile_id=event.profile_id)
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
                "detail": f"transfer {reference} failed: nothing new is posted to Xero; "
                "anything already posted is reversed by a credit note",
                "ours": {"state": str(event.payload.get("state", ""))},
            },
        )
    _reverse(event, object_type="transfer")


def on_payment_refunded(event: OutboxEvent) -> None:
    _reverse(event, object_type="refund")


def on_wallet_funded(event: OutboxEvent) -> None:
    entry_id = str(event.payload["entry_id"])
    profile_id = int(event.payload["profile_id"])
    platform, own = _connections(profile_id=profile_id)
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


HANDLERS = {
    "transfer.submitted": on_transfer_submitted,
    "transfer.completed": on_transfer_completed,
    "transfer.failed": on_transfer_failed,
    "payment.refunded": on_payment_refunded,
    "wallet.funded": on_wallet_funded,
}
