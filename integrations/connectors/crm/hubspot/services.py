"""Connecting HubSpot with a private app's token (the other way in is OAuth, through the
engine's `connection_start`): the token is kept encrypted like OAuth tokens, never expires and
is never refreshed; our custom properties are made or checked before the connection is active."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from fintech.core.services import Actor, audit_record
from integrations.connectors.crm.hubspot import adapter
from integrations.connectors.crm.hubspot.client import PROVIDER, HubSpotClient
from integrations.errors import IntegrationError, PermanentError
from integrations.sync import services
from integrations.sync.models import Connection


def connection_private_app(*, actor: Actor, token: str) -> Connection:
    """The platform's HubSpot connected with a private app token. A refusal (the token, or
    HubSpot refusing one of our properties) leaves the connection `reconnect_required` with
    HubSpot's reason, and raises it."""
    token = token.strip()
    if not token or len(token) > 500:
        raise PermanentError("token: a HubSpot private app access token is required")
    limits = dict(settings.SYNC_PROVIDER_LIMITS.get(PROVIDER, {}))
    with transaction.atomic():
        connection = (
            Connection.objects.select_for_update()
            .filter(provider=PROVIDER, owner=Connection.Owner.PLATFORM)
            .exclude(status=Connection.Status.DISCONNECTED)
            .first()
        ) or Connection(
            provider=PROVIDER,
            kind=Connection.Kind.CRM,
            owner=Connection.Owner.PLATFORM,
            created_by=actor.label,
            **limits,
        )
        connection.access_token, connection.refresh_token = token, ""
        connection.token_expires_at = None
        # Active, so the client may call; the checks below decide whether it stays so.
        connection.status, connection.status_reason = Connection.Status.ACTIVE, ""
        connection.save()
    try:
        with HubSpotClient(connection) as client:
            details = client.request("GET", "account-info/v3/details")
        portal = str(details.get("portalId", ""))
        if not portal:
            raise PermanentError("HubSpot's account details name no portal")
        Connection.objects.filter(pk=connection.pk).update(tenant_id=portal, tenant_name=portal)
        adapter.properties_ensure(connection=connection)
    except IntegrationError as exc:
        Connection.objects.filter(pk=connection.pk).update(
            status=Connection.Status.RECONNECT_REQUIRED, status_reason=exc.message[:1000]
        )
        audit_record(
            actor=actor, action="connection.refused", target=connection, reason=exc.message
        )
        raise
    connection.refresh_from_db()
    audit_record(
        actor=actor,
        action="connection.connected",
        target=connection,
        data={"tenant_id": connection.tenant_id, "how": "private app token"},
    )
    services.connection_activated(connection=connection)
    return connection
