"""What every accounting adapter reads about a job: the transfer it is about, the facts a
reversal maps from, the contact synced before it, and the hash of what it sent."""

from __future__ import annotations

import hashlib
from typing import Any

from integrations.connectors.accounting import facts
from integrations.connectors.accounting.wire import dumps
from integrations.errors import NotReady, PermanentError
from integrations.sync.models import Connection, SyncJob


def payload_hash(body: Any) -> str:
    return hashlib.sha256(dumps(body)).hexdigest()


def transfer_id(job: SyncJob) -> int:
    from fintech.transfers.models import Transfer

    pk = Transfer.objects.filter(reference=job.object_id).values_list("pk", flat=True).first()
    if pk is None:
        raise PermanentError(f"transfer {job.object_id} does not exist")
    return int(pk)


def given_back(job: SyncJob) -> tuple[Any, facts.TransferFacts]:
    """(the facts a reversal maps from, the transfer's facts) for a refund or a failure."""
    pk = transfer_id(job)
    if job.object_type == "refund":
        refund = facts.refund_facts(transfer_id=pk)
        return refund, refund.transfer
    t = facts.transfer_facts(transfer_id=pk)
    return t, t


def profile_id_of(contact_reference: str) -> int:
    """PRF-7 -> 7."""
    return int(contact_reference.rsplit("-", 1)[-1])


def contact_id(connection: Connection, profile_id: int) -> str:
    """The external id of the profile's contact on this connection, synced before (else the
    job waits: NotReady)."""
    external = (
        SyncJob.objects.filter(
            connection=connection,
            object_type="profile",
            object_id=str(profile_id),
            action="contact",
            state=SyncJob.State.SYNCED,
        )
        .values_list("external_id", flat=True)
        .first()
    )
    if not external:
        raise NotReady(f"the contact of profile {profile_id} is not in {connection.provider} yet")
    return external
