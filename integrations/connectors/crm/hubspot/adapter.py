"""The HubSpot adapter the sync engine calls: one function per action, table-driven.

Every action reads the profile's record as it is now (records.py), maps it through the
allowlists (mapping.py), looks the object up by our reference and creates it only when
HubSpot has none: a replayed event, a retried job or a worker killed after HubSpot answered
never makes a second company, contact or note.

- `company` (a profile): the company it recorded (or a salesperson linked to the profile in
  HubSpot), else a search by `fintech_profile_ref`; update it or create it.
- `update:<event>` (a profile, after its `company` job): the company's properties as they are
  now. Each lifecycle event has its own (jobs are unique per action), so a later change is
  sent even after an earlier one was; each sends the whole current state, so order is moot.
- `contact` (a member `<profile>:<user>`): the contact it recorded (the survivor after a
  merge), else a search by work email; update it or create it associated with the company.
- `note_failed` (a transfer), `note_verified` (a profile): a note on the company, found again
  by the token of our reference in its body.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.utils import timezone

from integrations.connectors.crm.hubspot import client as hubspot
from integrations.connectors.crm.hubspot import mapping
from integrations.connectors.crm.records import ProfileRecord, profile_record
from integrations.errors import PermanentError
from integrations.sync.adapters import (
    AccountInfo,
    JobContext,
    OAuthConfig,
    Organisation,
    Role,
    Skipped,
    Synced,
    Tenant,
)
from integrations.sync.models import Connection

Client = hubspot.HubSpotClient


def rules() -> mapping.Rules:
    return mapping.Rules(
        window_days=settings.CRM_WINDOW_DAYS,
        dormant_days=settings.CRM_DORMANT_DAYS,
        band_edges=tuple(settings.CRM_VOLUME_BAND_EDGES),
        tiers=tuple(settings.CRM_TIERS),
        high_value_band=settings.CRM_HIGH_VALUE_BAND,
    )


def console() -> str:
    return str(settings.FINTECH_BASE_URL)


def _hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _synced(item: dict[str, Any], body: dict[str, Any], number: str) -> Synced:
    props = item.get("properties") or {}
    return Synced(
        external_id=str(item["id"]),
        external_version=str(item.get("updatedAt", "")),
        external_number=number,
        payload_hash=_hash(body),
        summary={
            "status": str(props.get("fintech_onboarding_stage", "")),
            "tier": str(props.get("fintech_account_tier", "")),
        },
    )


def _record(context: JobContext) -> ProfileRecord:
    profile_id = int(context.job.object_id.split(":", 1)[0])
    record = profile_record(profile_id=profile_id)
    if record.kind != "business":
        raise PermanentError(f"profile {profile_id} is not a business: no company in the CRM")
    return record


def _company_properties(record: ProfileRecord) -> dict[str, str]:
    return mapping.company_properties(record, now=timezone.now(), rules=rules(), console=console())


def _recorded(client: Client, object_type: str, object_id: str) -> dict[str, Any] | None:
    if not object_id:
        return None
    return client.get(object_type, object_id)


def _company(client: Client, context: JobContext) -> Synced | Skipped:
    record = _record(context)
    props = _company_properties(record)
    search = mapping.search_body(mapping.REFERENCE, record.reference)
    # The company this job recorded (or a salesperson linked, webhooks.py) first; HubSpot
    # answers a merged company's id with the survivor. Then our reference; then a new one.
    found = _recorded(client, "companies", context.job.external_id) or client.search_one(
        "companies", search
    )
    if found is not None:
        body = mapping.update_body(props)
        return _synced(client.update("companies", str(found["id"]), body), body, record.reference)
    body = mapping.create_body(props)
    try:
        item = client.create("companies", body)
    except hubspot.Conflict:
        # Another run created it between our search and our create: take that one.
        item = client.search_one("companies", search) or {}
        if not item:
            raise
    return _synced(item, body, record.reference)


def _company_update(client: Client, context: JobContext) -> Synced | Skipped:
    record = _record(context)
    body = mapping.update_body(_company_properties(record))
    company_id = context.prerequisite_external_id
    try:
        item = client.update("companies", company_id, body)
    except hubspot.NotFound as exc:
        raise PermanentError(
            f"company {company_id} ({record.reference}) was deleted in HubSpot: retry the "
            f"profile's `company` job to make it again, then this one"
        ) from exc
    return _synced(item, body, record.reference)


def _contact(client: Client, context: JobContext) -> Synced | Skipped:
    record = _record(context)
    user_id = int(context.job.object_id.split(":", 1)[1])
    member = next((m for m in record.members if m.user_id == user_id), None)
    if member is None:
        return Skipped(f"user {user_id} is no longer a member of {record.reference}")
    props = mapping.contact_properties(member, rules=rules(), console=console())
    search = mapping.search_body("email", props["email"])
    # The contact this job recorded first (after a merge: the survivor, recorded by the
    # contact.merge webhook, or answered by HubSpot for the merged id): a merge can leave our
    # work email only among the survivor's additional emails, which a search does not match.
    found = _recorded(client, "contacts", context.job.external_id) or client.search_one(
        "contacts", search
    )
    if found is not None:
        body = mapping.update_body(props)
        item = client.update("contacts", str(found["id"]), body)
        return _synced(item, body, props["email"])
    body = mapping.create_body(
        props, company_id=context.prerequisite_external_id, type_id=mapping.CONTACT_TO_COMPANY
    )
    try:
        item = client.create("contacts", body)
    except hubspot.Conflict as exc:
        if not exc.existing_id:
            raise
        item = {"id": exc.existing_id}
    return _synced(item, body, props["email"])


def _note(
    client: Client, context: JobContext, kind: str, properties: dict[str, str], ref: str
) -> Synced:
    token = mapping.note_token(kind, ref)
    found = client.search_one(
        "notes", mapping.search_body("hs_note_body", token, operator="CONTAINS_TOKEN")
    )
    body = mapping.create_body(
        properties, company_id=context.prerequisite_external_id, type_id=mapping.NOTE_TO_COMPANY
    )
    item = found or client.create("notes", body)
    return _synced(item, body, ref)


def _note_failed(client: Client, context: JobContext) -> Synced | Skipped:
    record = _record(context)
    reference = context.job.object_id.split(":", 1)[1]
    transfer = next((t for t in record.transfers if t.reference == reference), None)
    if transfer is None or transfer.state != "failed":
        return Skipped(f"transfer {reference} is not failed (any more): no note")
    props = mapping.note_failed_payment(transfer, rules=rules(), console=console())
    return _note(client, context, "payment_failed", props, reference)


def _note_verified(client: Client, context: JobContext) -> Synced | Skipped:
    record = _record(context)
    if record.kyc_state != "verified":
        return Skipped(f"{record.reference} is not verified (any more): no note")
    when = context.job.created_at or timezone.now()
    props = mapping.note_verified(record, when=when, rules=rules(), console=console())
    return _note(client, context, "verified", props, record.reference)


ACTIONS: dict[str, Callable[[Client, JobContext], Synced | Skipped]] = {
    "company": _company,
    "update": _company_update,
    "contact": _contact,
    "note_failed": _note_failed,
    "note_verified": _note_verified,
}


def properties_ensure(*, connection: Connection) -> list[str]:
    """Create our custom company properties, or check the ones there; returns what was made.
    Refusals name the property and HubSpot's reason."""
    made = []
    with Client(connection) as client:
        for definition in mapping.property_definitions(rules()):
            name = definition["name"]
            existing = client.property_get("companies", name)
            if existing is not None:
                if existing.get("type") != definition["type"]:
                    raise PermanentError(
                        f"HubSpot property companies.{name} exists as type "
                        f"{existing.get('type')!r}, we need {definition['type']!r}: rename or "
                        "delete it in HubSpot, then connect again"
                    )
                continue
            try:
                client.property_create("companies", definition)
            except PermanentError as exc:
                raise PermanentError(
                    f"HubSpot refused to create property companies.{name}: {exc.message}"
                ) from exc
            made.append(name)
    return made


class HubSpotAdapter:
    provider: str = hubspot.PROVIDER
    kind: str = Connection.Kind.CRM.value

    def oauth(self) -> OAuthConfig:
        return OAuthConfig(
            client_id=settings.HUBSPOT_CLIENT_ID,
            client_secret=settings.HUBSPOT_CLIENT_SECRET,
            authorize_url=settings.HUBSPOT_AUTHORIZE_URL,
            token_url=settings.HUBSPOT_TOKEN_URL,
            revoke_url="",
            scope=settings.HUBSPOT_SCOPES,
            allow_private=hubspot.allow_private(),
        )

    def tenants(self, *, access_token: str, callback: Mapping[str, str]) -> list[Tenant]:
        info = hubspot.token_portal(access_token=access_token)
        return [Tenant(tenant_id=str(info["hub_id"]), name=str(info.get("hub_domain", "")))]

    def organisation(self, *, connection: Connection) -> Organisation:
        """Called on connect (and on "refresh"): our custom properties made or checked."""
        properties_ensure(connection=connection)
        return Organisation(base_currency="", currencies=(), name=connection.tenant_name)

    def accounts(self, *, connection: Connection) -> list[AccountInfo]:
        return []  # a CRM has no chart of accounts

    def roles(self, *, connection: Connection) -> tuple[Role, ...]:
        return ()

    def perform(self, context: JobContext) -> Synced | Skipped:
        action = ACTIONS.get(context.job.action.split(":", 1)[0])
        if action is None:
            raise PermanentError(f"hubspot has no action {context.job.action!r}")
        with Client(context.connection) as client:
            return action(client, context)

    def disconnect(self, *, connection: Connection) -> None:
        return None

    def allowlist(self) -> dict[str, dict[str, str]]:
        """Object -> property -> what it may hold (shown to operators)."""
        return {
            kind: {name: mapping.describe(value) for name, value in properties.items()}
            for kind, properties in mapping.allowlists(rules()).items()
        }
