"""HubSpot's webhooks in, at `/webhooks/hubspot/` (integrations.inbound stores, we process).

- Signature v3: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(app secret, method + URI + body
  + `X-HubSpot-Request-Timestamp`)), over the raw bytes and the URL HubSpot called
  (HUBSPOT_WEBHOOK_URL, else the request's own); a timestamp more than 5 minutes away is
  refused as stale (a replay), a bad signature as invalid, before anything is read.
- The body is an array of events (`eventId`, `portalId`, `subscriptionType`, `objectId`,
  `propertyName`, `propertyValue`, `occurredAt`); a delivery is stored once (its id: the
  sorted event ids) and processed later:
  - `company.propertyChange` of `hubspot_owner_id`: the owner is read from HubSpot and becomes
    the profile's account manager (`profile_account_manager_set`: audited, and the event
    `customer.account_manager_changed` tells them). An owner HubSpot does not know is the
    failure, named.
  - `company.deletion` of a company we synced: a SyncMismatch for operators (nothing deleted
    here; retrying the profile's `company` job makes it again).
  - `company.propertyChange` of our reference `fintech_profile_ref` (the lead-to-account
    link: a salesperson's lead company given the customer's `PRF-<id>`): the profile's
    `company` job now points at that company (later updates go to it) and an
    `update:link-<company>` job sends it our properties. A reference naming no business
    profile of ours is the failure, named; the profile is never touched.
  - `contact.merge`: members whose contact was merged away now record the survivor
    (`newObjectId`, else `primaryObjectId`); a retried `contact` job updates it, never
    making a second contact.
  - A portal no connection knows is the failure, named; the profile is never touched.
  One failing event fails the delivery (visible to operators, with every reason) after the
  others in it are done.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fintech.core.services import Actor
from integrations.connectors.crm.hubspot import mapping
from integrations.connectors.crm.hubspot.client import PROVIDER, HubSpotClient
from integrations.errors import PermanentError
from integrations.hubspot_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_v3
from integrations.inbound.providers import MalformedEvent, Outcome, ParsedEvent, Provider
from integrations.models import InboundWebhook
from integrations.sync.models import Connection, SyncJob, SyncMismatch
from integrations.sync.services import job_ensure

EVENTS = "hubspot.events"
ACTOR = Actor.system("hubspot-webhook")


class HubSpotProvider(Provider):
    def verify(self, headers: dict[str, str], body: bytes) -> str:
        # Without the request line a v3 signature cannot be checked.
        return InboundWebhook.Verdict.INVALID.value

    def verify_request(self, *, method: str, uri: str, headers: dict[str, str], body: bytes) -> str:
        return verify_v3(
            secret=self.secret(),
            method=method,
            uri=settings.HUBSPOT_WEBHOOK_URL or uri,
            body=body.decode("utf-8", "replace"),
            timestamp=headers.get(TIMESTAMP_HEADER.lower()),
            signature=headers.get(SIGNATURE_HEADER.lower()),
        )

    def parse(self, data: object) -> ParsedEvent:
        if not isinstance(data, list) or not data:
            raise MalformedEvent("a HubSpot webhook is a non-empty array of events")
        for index, event in enumerate(data):
            if not isinstance(event, dict) or not all(
                isinstance(event.get(k), int) for k in ("eventId", "portalId", "objectId")
            ):
                raise MalformedEvent(f"[{index}] needs eventId, portalId and objectId (integers)")
            if not isinstance(event.get("subscriptionType"), str):
                raise MalformedEvent(f"[{index}].subscriptionType must be a string")
        ids = ",".join(sorted(str(e["eventId"]) for e in data))
        stamps = [e.get("occurredAt") for e in data if isinstance(e.get("occurredAt"), int)]
        occurred = datetime.fromtimestamp(max(stamps) / 1000, tz=UTC) if stamps else timezone.now()
        return ParsedEvent(
            event_id=f"hubspot:{hashlib.sha256(ids.encode()).hexdigest()[:40]}",
            type=EVENTS,
            occurred_at=occurred,
            data={"events": data},
        )


PROVIDER_ENTRY = HubSpotProvider(
    name=PROVIDER,
    secret_setting="HUBSPOT_CLIENT_SECRET",  # noqa: S106 (a setting name)
    event_types=frozenset({EVENTS}),
    handler_path="integrations.connectors.crm.hubspot.webhooks:on_hubspot_webhook",
    accepted_status=200,
)


def _company_job(connection: Connection, company_id: str) -> SyncJob | None:
    return SyncJob.objects.filter(
        connection=connection, action="company", external_id=company_id, state=SyncJob.State.SYNCED
    ).first()


def _owner_change(connection: Connection, job: SyncJob, owner_id: str) -> str:
    from fintech.customers.services import profile_account_manager_set

    profile_id = int(job.object_id)
    if not owner_id:
        email = name = ""
    else:
        with HubSpotClient(connection) as client:
            owner = client.owner(owner_id)
        if owner is None:
            raise PermanentError(
                f"HubSpot owner {owner_id} (company {job.external_id}) is unknown to HubSpot: "
                f"profile {profile_id}'s account manager is left as it was"
            )
        email = str(owner.get("email", ""))
        name = f"{owner.get('firstName', '')} {owner.get('lastName', '')}".strip()
    _, changed = profile_account_manager_set(
        actor=ACTOR,
        profile_id=profile_id,
        email=email,
        name=name,
        reason=f"HubSpot owner {owner_id or '(none)'} of company {job.external_id}",
    )
    return f"profile {profile_id}: account manager {email or '(none)'}" + (
        "" if changed else " (unchanged)"
    )


def _deleted(job: SyncJob) -> str:
    SyncMismatch.objects.get_or_create(
        connection_id=job.connection_id,
        kind=SyncMismatch.Kind.EXTERNAL_DELETED,
        object_type=job.object_type,
        object_id=job.object_id,
        external_id=job.external_id,
        status=SyncMismatch.Status.OPEN,
        defaults={
            "job": job,
            "detail": f"company {job.external_id} of profile {job.object_id} was deleted in "
            "HubSpot; retry the profile's company job to make it again",
            "ours": job.external_summary,
        },
    )
    return f"company {job.external_id}: deleted in HubSpot"


def _contact_merge(connection: Connection, item: dict[str, Any]) -> str:
    """HubSpot merged contacts: every member whose contact was absorbed now records the
    survivor (`newObjectId`, else `primaryObjectId`), so a retried or replayed `contact` job
    updates it instead of making the member a new contact."""
    survivor = str(item.get("newObjectId") or item.get("primaryObjectId") or item["objectId"])
    merged = [str(i) for i in item.get("mergedObjectIds") or [] if str(i) != survivor]
    with transaction.atomic():
        jobs = list(
            SyncJob.objects.select_for_update().filter(
                connection=connection, action="contact", external_id__in=merged
            )
        )
        for job in jobs:
            job.note = (
                f"contact {job.external_id} was merged into {survivor} in HubSpot "
                f"({timezone.now():%Y-%m-%d %H:%M} UTC)"
            )
            job.external_id = survivor
            job.save(update_fields=["external_id", "note", "updated_at"])
    if jobs:
        members = ", ".join(sorted(j.object_id for j in jobs))
        return f"contact merge: member {members} now contact {survivor} (was {', '.join(merged)})"
    if SyncJob.objects.filter(connection=connection, action="contact", external_id=survivor):
        return f"contact merge: {', '.join(merged)} into our contact {survivor}: nothing to move"
    return f"contact merge into {survivor}: no contact of ours"


def _link(connection: Connection, item: dict[str, Any]) -> str:
    """Our reference set on a company in HubSpot (a lead a salesperson made, now the
    customer's account): that company becomes the profile's, and receives its properties.
    A reference naming no business profile of ours is the failure, named."""
    from fintech.customers.models import Profile

    company_id = str(item["objectId"])
    value = str(item.get("propertyValue") or "").strip()
    if not value:
        job = _company_job(connection, company_id)
        return f"company {company_id}: our reference removed in HubSpot" + (
            f"; profile {job.object_id} stays linked to it" if job else ""
        )
    match = re.fullmatch(r"PRF-(\d{1,18})", value)
    profile = (
        Profile.objects.filter(pk=int(match[1]), kind=Profile.Kind.BUSINESS).first()
        if match
        else None
    )
    if profile is None:
        raise PermanentError(
            f"HubSpot company {company_id} was given {mapping.REFERENCE} {value!r}, which is no "
            "business profile of ours: nothing linked; correct the reference in HubSpot"
        )
    with transaction.atomic():
        job = (
            SyncJob.objects.select_for_update()
            .filter(
                connection=connection,
                object_type="profile",
                object_id=str(profile.pk),
                action="company",
            )
            .first()
        )
        if job is None:
            # Never synced: its company job finds this company by our reference.
            job_ensure(
                connection=connection,
                object_type="profile",
                object_id=str(profile.pk),
                action="company",
            )
            return f"profile {profile.pk}: linked to company {company_id} (a company job made)"
        if job.external_id == company_id:
            return f"profile {profile.pk}: already linked to company {company_id}"
        if job.state != SyncJob.State.SYNCED:
            return (
                f"profile {profile.pk}: company job {job.state}; it finds company {company_id} "
                "by our reference"
            )
        previous = job.external_id
        job.external_id = company_id
        job.note = f"linked in HubSpot to company {company_id}" + (
            f" (was {previous})" if previous else ""
        )
        job.save(update_fields=["external_id", "note", "updated_at"])
        # The lead gets our properties now (stage, KYC label, tier...), after the link.
        job_ensure(
            connection=connection,
            object_type="profile",
            object_id=str(profile.pk),
            action=f"update:link-{company_id}"[:40],
            depends_on=job,
        )
    return f"profile {profile.pk}: linked to company {company_id}" + (
        f" (was {previous})" if previous else ""
    )


def _one(connection: Connection, item: dict[str, Any]) -> str:
    kind = str(item["subscriptionType"])
    object_id = str(item["objectId"])
    if kind == "contact.merge":
        return _contact_merge(connection, item)
    if kind == "company.propertyChange" and item.get("propertyName") == mapping.REFERENCE:
        return _link(connection, item)
    if not kind.startswith("company."):
        return f"{kind} {object_id}: not one we act on"
    company_id = object_id
    job = _company_job(connection, company_id)
    if job is None:
        return f"company {company_id}: not one we synced"
    if kind == "company.deletion":
        return _deleted(job)
    if kind == "company.propertyChange" and item.get("propertyName") == "hubspot_owner_id":
        return _owner_change(connection, job, str(item.get("propertyValue") or ""))
    return f"{kind} {item.get('propertyName', '')} of company {company_id}: ignored"


def on_hubspot_webhook(row: InboundWebhook, event: ParsedEvent) -> Outcome:
    notes: list[str] = []
    unknown: list[str] = []
    errors: list[str] = []
    # Oldest first: two owner changes in one delivery end with the later one.
    for item in sorted(event.data["events"], key=lambda e: e.get("occurredAt") or 0):
        portal = str(item["portalId"])
        connections = Connection.objects.filter(provider=PROVIDER, tenant_id=portal).exclude(
            status=Connection.Status.DISCONNECTED
        )
        if not connections:
            unknown.append(f"unknown HubSpot portal {portal}: no connection to it")
            continue
        for connection in connections:
            # One bad event does not stop the others (each is idempotent: a retry of the
            # delivery does again only what is still to do).
            try:
                notes.append(_one(connection, item))
            except PermanentError as exc:
                errors.append(exc.message)
    if errors or (unknown and not notes):
        raise PermanentError("; ".join(errors + unknown + notes)[:1000])
    return Outcome("processed", "; ".join(notes + unknown)[:1000])
