"""Our events -> HubSpot sync jobs (run inside each event's dispatch transaction).

Per live HubSpot connection, for business profiles only:

| event | jobs |
|---|---|
| `customer.created` | `company` (found by our reference, else created) |
| `customer.member_added` | `company`, `contact` of the member (after the company) |
| `compliance.submitted`, `.rejected`, `.review_required` | `update:<event>`: the properties now |
| `transfer.completed`, `transfer.failed`, `payment.refunded` | `update:<event>` |
| `business.verified` | `update:<event>`, `note_verified` |
| `transfer.failed` | also `note_failed` of the transfer |

Jobs are unique per (connection, object, action): a replayed event adds nothing; every
job after the first waits for the `company` job (depends_on), so the company is made once.
"""

from __future__ import annotations

from fintech.core.models import OutboxEvent
from fintech.customers.models import Profile
from integrations.connectors.crm.hubspot.client import PROVIDER
from integrations.sync.models import Connection, SyncJob
from integrations.sync.services import job_ensure


def _connections() -> list[Connection]:
    """Paused connections are included: their jobs wait for the reconnect."""
    return list(
        Connection.objects.filter(provider=PROVIDER).exclude(
            status__in=[Connection.Status.DISCONNECTED, Connection.Status.AUTHORIZING]
        )
    )


def _business(profile_id: int | None) -> bool:
    if not profile_id:
        return False
    return Profile.objects.filter(pk=profile_id, kind=Profile.Kind.BUSINESS).exists()


def _company(connection: Connection, profile_id: int, event: OutboxEvent) -> SyncJob:
    job, _ = job_ensure(
        connection=connection,
        object_type="profile",
        object_id=str(profile_id),
        action="company",
        event_id=event.id,
    )
    return job


def _after_company(event: OutboxEvent, *, object_type: str, object_id: str, action: str) -> None:
    profile_id = event.profile_id
    connections = _connections()
    if not connections or not _business(profile_id):
        return
    for connection in connections:
        company = _company(connection, int(profile_id or 0), event)
        job_ensure(
            connection=connection,
            object_type=object_type,
            object_id=object_id,
            action=action,
            event_id=event.id,
            depends_on=company,
        )


def _update(event: OutboxEvent) -> None:
    _after_company(
        event,
        object_type="profile",
        object_id=str(event.profile_id),
        action=f"update:{event.id.hex}",
    )


def on_customer_created(event: OutboxEvent) -> None:
    connections = _connections()
    if connections and _business(event.profile_id):
        for connection in connections:
            _company(connection, int(event.profile_id or 0), event)


def on_member_added(event: OutboxEvent) -> None:
    user_id = int(event.payload["user_id"])
    _after_company(
        event, object_type="member", object_id=f"{event.profile_id}:{user_id}", action="contact"
    )
    _update(event)  # a member makes a lead "signed up"


def on_lifecycle(event: OutboxEvent) -> None:
    _update(event)


def on_business_verified(event: OutboxEvent) -> None:
    _update(event)
    _after_company(
        event, object_type="profile", object_id=str(event.profile_id), action="note_verified"
    )


def on_transfer_failed(event: OutboxEvent) -> None:
    _update(event)
    reference = str(event.payload["reference"])
    _after_company(
        event,
        object_type="transfer",
        object_id=f"{event.profile_id}:{reference}",
        action="note_failed",
    )


HANDLERS = {
    "customer.created": on_customer_created,
    "customer.member_added": on_member_added,
    "compliance.submitted": on_lifecycle,
    "compliance.rejected": on_lifecycle,
    "compliance.review_required": on_lifecycle,
    "business.verified": on_business_verified,
    "transfer.completed": on_lifecycle,
    "transfer.failed": on_transfer_failed,
    "payment.refunded": on_lifecycle,
}
