"""API writes: registering an OAuth application for a business, and housekeeping."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import Application

from fintech.api.models import ApiClient, ApiRequestLog, IdempotencyRecord
from fintech.api.scopes import ALL_SCOPES
from fintech.core.errors import FieldError, ValidationFailed
from fintech.core.retention import delete_in_batches, retention_cutoff
from fintech.core.services import Actor, audit_record
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile


@dataclass(frozen=True, slots=True)
class IssuedClient:
    """The application and, shown once, its secret (only a hash of it is stored)."""

    api_client: ApiClient
    client_id: str
    client_secret: str


@service_transaction
def api_client_create(
    *,
    actor: Actor,
    profile: Profile,
    name: str,
    scopes: list[str],
    grant_type: str = Application.GRANT_CLIENT_CREDENTIALS,
    redirect_uris: str = "",
    rate_limit_per_minute: int | None = None,
) -> IssuedClient:
    """An OAuth application bound to `profile` with `scopes`. Sandbox profiles get sandbox
    clients. The plaintext secret is returned here once and never stored."""
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    errors = []
    if unknown:
        errors.append(FieldError("scopes", "unknown_scope", f"unknown: {', '.join(unknown)}"))
    if grant_type not in (
        Application.GRANT_CLIENT_CREDENTIALS,
        Application.GRANT_AUTHORIZATION_CODE,
    ):
        errors.append(
            FieldError("grant_type", "invalid_choice", "client-credentials or authorization-code")
        )
    if grant_type == Application.GRANT_AUTHORIZATION_CODE and not redirect_uris.strip():
        errors.append(FieldError("redirect_uris", "required", "needed for authorization code"))
    if errors:
        raise ValidationFailed(errors)
    # Generated here so the caller can see it once; Application.save() stores only its hash.
    secret = Application._meta.get_field("client_secret").get_default()
    application = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=grant_type,
        client_secret=secret,
        redirect_uris=redirect_uris,
        algorithm=Application.NO_ALGORITHM,
        skip_authorization=False,
    )
    api_client = ApiClient.objects.create(
        application=application,
        profile=profile,
        scopes=sorted(set(scopes)),
        is_sandbox=profile.is_sandbox,
        rate_limit_per_minute=rate_limit_per_minute,
    )
    audit_record(
        actor=actor,
        action="api_client.created",
        target=api_client,
        data={
            "client_id": application.client_id,
            "profile_id": profile.pk,
            "scopes": api_client.scopes,
            "grant_type": grant_type,
            "is_sandbox": api_client.is_sandbox,
        },
    )
    return IssuedClient(
        api_client=api_client, client_id=application.client_id, client_secret=secret
    )


def idempotency_purge(*, now: dt.datetime | None = None) -> int:
    """Delete idempotency keys older than API_IDEMPOTENCY_TTL_HOURS, in bounded batches
    (fintech/core/retention.py) like the other logs; returns how many."""
    cutoff = (now or timezone.now()) - dt.timedelta(hours=settings.API_IDEMPOTENCY_TTL_HOURS)
    return delete_in_batches(IdempotencyRecord.objects.filter(created_at__lt=cutoff))


def request_log_purge(*, now: dt.datetime | None = None) -> int:
    """Delete API request log rows older than API_REQUEST_LOG_RETENTION_DAYS (0: none), in
    bounded batches (fintech/core/retention.py)."""
    cutoff = retention_cutoff(days=settings.API_REQUEST_LOG_RETENTION_DAYS, now=now)
    if cutoff is None:
        return 0
    return delete_in_batches(ApiRequestLog.objects.filter(created_at__lt=cutoff))
