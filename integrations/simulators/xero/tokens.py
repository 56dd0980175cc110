"""The sandbox identity server's codes and tokens: random strings handed out once, kept only
as SHA-256 hashes. Codes and refresh tokens are single-use: taken by a conditional UPDATE that
must change exactly one row, so of two concurrent uses one wins."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from integrations.models import XeroSandboxConnection, XeroSandboxGrant, XeroSandboxOrg
from integrations.simulators import oauth

Kind = XeroSandboxGrant.Kind
CODE_SECONDS = 300
REFRESH_DAYS = 60


def client_valid(client_id: str, client_secret: str | None) -> bool:
    """The app's credentials; `client_secret` None: a public (PKCE) client, id only."""
    if not oauth.same(client_id, settings.XERO_SANDBOX_CLIENT_ID):
        return False
    return client_secret is None or oauth.same(client_secret, settings.XERO_SANDBOX_CLIENT_SECRET)


def client_credentials(request: HttpRequest) -> tuple[str, str | None]:
    """(client_id, client_secret) from HTTP Basic or the form body; secret None if absent."""
    basic = oauth.basic_credentials(request)
    if basic is not None:
        return basic
    return request.POST.get("client_id", ""), request.POST.get("client_secret")


def code_issue(
    *, client_id: str, scope: str, redirect_uri: str, code_challenge: str
) -> tuple[str, XeroSandboxGrant]:
    code = secrets.token_urlsafe(32)
    grant = oauth.grant_create(
        XeroSandboxGrant,
        token=code,
        kind=Kind.CODE,
        seconds=CODE_SECONDS,
        client_id=client_id,
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge=code_challenge,
    )
    return code, grant


def single_use_take(*, token: str, kind: str, client_id: str) -> XeroSandboxGrant | None:
    """The code or refresh token, marked used; None if unknown, expired, revoked or used."""
    return oauth.single_use_take(XeroSandboxGrant, token=token, kind=kind, client_id=client_id)


pkce_matches = oauth.pkce_matches


def grants_purge(*, batch: int = 500) -> int:
    return oauth.grants_purge(XeroSandboxGrant, batch=batch)


def tokens_issue(*, parent: XeroSandboxGrant) -> dict[str, object]:
    """A new access token (and a refresh token with `offline_access`), Xero's token answer."""
    grants_purge()
    lifetime = settings.XERO_SANDBOX_ACCESS_TOKEN_SECONDS
    access = secrets.token_urlsafe(40)
    common = {
        "client_id": parent.client_id,
        "scope": parent.scope,
        "family": parent.family,
        "code_challenge": "pkce" if parent.code_challenge else "",
    }
    oauth.grant_create(XeroSandboxGrant, token=access, kind=Kind.ACCESS, seconds=lifetime, **common)
    answer: dict[str, object] = {
        "access_token": access,
        "expires_in": lifetime,
        "token_type": "Bearer",
        "scope": parent.scope,
    }
    if "offline_access" in parent.scope.split():
        refresh = secrets.token_urlsafe(40)
        oauth.grant_create(
            XeroSandboxGrant,
            token=refresh,
            kind=Kind.REFRESH,
            seconds=REFRESH_DAYS * 86400,
            **common,
        )
        answer["refresh_token"] = refresh
    return answer


def family_revoke(*, token: str, client_id: str) -> bool:
    """Revoke the refresh token's whole family (access tokens too) and the app's connections."""
    grant = XeroSandboxGrant.objects.filter(
        token_hash=oauth.token_hash(token), client_id=client_id
    ).first()
    if grant is None:
        return False
    XeroSandboxGrant.objects.filter(family=grant.family, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    XeroSandboxConnection.objects.filter(client_id=client_id).delete()
    return True


@dataclass(frozen=True)
class Bearer:
    grant: XeroSandboxGrant | None
    problem: str  # "" when valid; else Xero's Detail ("TokenExpired", ...)


def bearer_check(request: HttpRequest) -> Bearer:
    checked = oauth.bearer_check(XeroSandboxGrant, request)
    if checked.grant is not None:
        return Bearer(checked.grant, "")
    if checked.expired_at is not None:
        return Bearer(
            None, f"TokenExpired: token expired at {checked.expired_at:%m/%d/%Y %H:%M:%S}"
        )
    return Bearer(None, "AuthenticationUnsuccessful")


def tenant_for(grant: XeroSandboxGrant, tenant_id: str) -> XeroSandboxOrg | None:
    """The org the token's app is connected to, by the `xero-tenant-id` header."""
    try:
        wanted = uuid.UUID(tenant_id)
    except ValueError:
        return None
    connection = (
        XeroSandboxConnection.objects.select_related("org")
        .filter(org_id=wanted, client_id=grant.client_id)
        .first()
    )
    return connection.org if connection else None


def control_authorized(request: HttpRequest) -> bool:
    """The sandbox control endpoint: the app's secret (Bearer, or Basic with the client id)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return oauth.same(header[7:].strip(), settings.XERO_SANDBOX_CLIENT_SECRET)
    if header.startswith("Basic "):
        client_id, secret = client_credentials(request)
        return secret is not None and client_valid(client_id, secret)
    return False
