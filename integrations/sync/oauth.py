"""OAuth 2.0 for connections (authorization code with PKCE, refresh one at a time), on authlib.

Refresh tokens of Xero (and QuickBooks) are single-use: the answer to a refresh carries the
next one and the old one dies. Two workers refreshing one connection at once would each spend
the same refresh token; the loser's answer is an error and the connection is dead. So a
refresh happens under a row lock on the connection (`access_token`): the first worker
refreshes and stores the new tokens before anyone uses them; the others wait on the lock,
then find a fresh access token and use it.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fintech.core.metrics import metric_incr
from integrations.errors import PermanentError, ReconnectRequired, TransientError
from integrations.http import PinnedAdapter
from integrations.ssrf import resolve_checked
from integrations.sync.adapters import OAuthConfig, adapter_for
from integrations.sync.models import Connection, OAuthAuthorization

logger = logging.getLogger(__name__)

# Refresh when less than this is left: a job's calls must not outlive the token.
REFRESH_MARGIN = timedelta(seconds=120)
AUTHORIZATION_TTL = timedelta(minutes=15)
TOKEN_TIMEOUT_SECONDS = 15


def _session(config: OAuthConfig, url: str, **kwargs: Any) -> OAuth2Session:
    """An authlib session pinned to the address checked now for `url`'s host (SSRF)."""
    session = OAuth2Session(
        client_id=config.client_id,
        client_secret=config.client_secret,
        scope=config.scope,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 (a method name)
        default_timeout=TOKEN_TIMEOUT_SECONDS,
        **kwargs,
    )
    session.trust_env = False
    adapter = PinnedAdapter(resolve_checked(url, allow_private=config.allow_private))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def authorization_start(
    *, connection: Connection, redirect_uri: str, created_by: str, return_to: str = ""
) -> str:
    """The provider's authorization URL for `connection`; the state and PKCE verifier are
    kept for `authorization_finish`."""
    config = adapter_for(connection.provider).oauth()
    verifier = secrets.token_urlsafe(64)
    state = secrets.token_urlsafe(32)
    session = _session(config, config.authorize_url, redirect_uri=redirect_uri)
    url, _ = session.create_authorization_url(
        config.authorize_url, state=state, code_verifier=verifier
    )
    OAuthAuthorization.objects.create(
        connection=connection,
        state=state,
        code_verifier=verifier,
        redirect_uri=redirect_uri,
        return_to=return_to,
        created_by=created_by,
        expires_at=timezone.now() + AUTHORIZATION_TTL,
    )
    return str(url)


def authorization_take(*, state: str) -> OAuthAuthorization:
    """The unused, unexpired authorization for `state`, marked used (a code is used once)."""
    with transaction.atomic():
        row = (
            OAuthAuthorization.objects.select_for_update()
            .select_related("connection")
            .filter(state=state)
            .first()
        )
        if row is None:
            raise PermanentError("unknown authorization state: start the connection again")
        if row.used_at is not None:
            raise PermanentError("this authorization was already used: start again")
        if row.expires_at < timezone.now():
            raise PermanentError("this authorization expired: start the connection again")
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
    return row


def code_exchange(*, authorization: OAuthAuthorization, code: str) -> dict[str, Any]:
    """Trade the authorization code (with its PKCE verifier) for tokens."""
    config = adapter_for(authorization.connection.provider).oauth()
    session = _session(config, config.token_url, redirect_uri=authorization.redirect_uri)
    try:
        token: dict[str, Any] = session.fetch_token(
            config.token_url, code=code, code_verifier=authorization.code_verifier
        )
    except OAuthError as exc:
        raise PermanentError(f"the provider refused the authorization: {exc.error}") from exc
    except requests.RequestException as exc:
        raise TransientError(f"token endpoint unreachable: {type(exc).__name__}") from exc
    return token


def tokens_store(*, connection: Connection, token: dict[str, Any]) -> None:
    """Keep a token answer on the connection (the caller holds its row or just made it)."""
    expires_in = int(token.get("expires_in") or 1800)
    connection.access_token = str(token["access_token"])
    # A provider that does not rotate answers without one: keep the one we have.
    connection.refresh_token = str(token.get("refresh_token") or connection.refresh_token or "")
    connection.token_expires_at = timezone.now() + timedelta(seconds=expires_in)
    connection.scope = str(token.get("scope", connection.scope))[:2000]
    connection.token_refreshed_at = timezone.now()
    connection.save(
        update_fields=[
            "access_token",
            "refresh_token",
            "token_expires_at",
            "scope",
            "token_refreshed_at",
            "updated_at",
        ]
    )


def _fresh(connection: Connection) -> bool:
    expires = connection.token_expires_at
    return (
        bool(connection.access_token)
        and expires is not None
        and (expires - REFRESH_MARGIN > timezone.now())
    )


def _static(connection: Connection) -> bool:
    """A token that does not expire and has nothing to refresh it with (a HubSpot private-app
    token, say): used as it is; when the provider refuses it, the client asks for a reconnect."""
    return (
        bool(connection.access_token)
        and not connection.refresh_token
        and connection.token_expires_at is None
    )


def access_token(*, connection_id: int) -> str:
    """A valid access token for the connection, refreshing it first when it is about to
    expire. Raises ReconnectRequired when the provider refuses the refresh."""
    connection = Connection.objects.get(pk=connection_id)
    if connection.status != Connection.Status.ACTIVE:
        raise ReconnectRequired(f"the connection is {connection.get_status_display().lower()}")
    if _fresh(connection) or _static(connection):
        return connection.access_token
    refused: str | None = None
    with transaction.atomic():
        # Why a row lock around an HTTP call: refresh tokens are single-use, so exactly one
        # worker may spend it; the others wait here and then read the token it stored.
        connection = Connection.objects.select_for_update().get(pk=connection_id)
        if connection.status != Connection.Status.ACTIVE:
            raise ReconnectRequired(f"the connection is {connection.get_status_display().lower()}")
        if _fresh(connection):
            return connection.access_token
        config = adapter_for(connection.provider).oauth()
        session = _session(config, config.token_url)
        try:
            token = session.refresh_token(config.token_url, refresh_token=connection.refresh_token)
        except OAuthError as exc:
            refused = f"the provider refused the refresh token ({exc.error})"
        except requests.RequestException as exc:
            metric_incr("sync_token_refresh_failures", labels={"connection": str(connection_id)})
            raise TransientError(f"token refresh failed: {type(exc).__name__}") from exc
        else:
            # Stored (and committed, below) before it is used: the old refresh token is dead.
            tokens_store(connection=connection, token=dict(token))
            metric_incr("sync_token_refreshes", labels={"provider": connection.provider})
            return connection.access_token
    connection_reconnect_required(connection_id=connection_id, reason=refused or "refused")
    raise ReconnectRequired(refused or "refused")


def connection_reconnect_required(*, connection_id: int, reason: str) -> None:
    """Pause the connection's queue until someone connects again; operators are alerted."""
    changed = Connection.objects.filter(pk=connection_id, status=Connection.Status.ACTIVE).update(
        status=Connection.Status.RECONNECT_REQUIRED,
        status_reason=reason[:1000],
        last_error_at=timezone.now(),
    )
    if changed:
        metric_incr("sync_token_refresh_failures", labels={"connection": str(connection_id)})
        # The alert: an error log line operators' monitoring pages on; the admin shows it too.
        logger.error(
            "sync.connection.reconnect_required",
            extra={"connection_id": connection_id, "reason": reason},
        )


def token_revoke(*, connection: Connection) -> None:
    """Revoke the refresh token at the provider (best effort: we forget it either way)."""
    if not connection.refresh_token:
        return
    config = adapter_for(connection.provider).oauth()
    if not config.revoke_url:
        return
    try:
        session = _session(config, config.revoke_url)
        if config.revoke_json:
            session.post(
                config.revoke_url,
                json={"token": connection.refresh_token},
                auth=(config.client_id, config.client_secret),
                headers={"Accept": "application/json"},
                withhold_token=True,
            ).raise_for_status()
        else:
            session.revoke_token(
                config.revoke_url,
                token=connection.refresh_token,
                token_type_hint="refresh_token",  # noqa: S106
            )
    except (OAuthError, requests.RequestException) as exc:
        logger.warning("token revocation failed for connection %s: %s", connection.pk, exc)


def callback_url() -> str:
    return f"{settings.FINTECH_BASE_URL}/integrations/oauth/callback/"
