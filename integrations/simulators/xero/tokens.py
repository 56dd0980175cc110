"""The sandbox identity server's codes and tokens: random strings handed out once, kept only
as SHA-256 hashes. Codes and refresh tokens are single-use: taken by a conditional UPDATE that
must change exactly one row, so of two concurrent uses one wins."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from integrations.models import XeroSandboxConnection, XeroSandboxGrant, XeroSandboxOrg

Kind = XeroSandboxGrant.Kind
CODE_SECONDS = 300
REFRESH_DAYS = 60


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_valid(client_id: str, client_secret: str | None) -> bool:
    """The app's credentials; `client_secret` None: a public (PKCE) client, id only."""
    expected_id = settings.XERO_SANDBOX_CLIENT_ID
    if not expected_id or not hmac.compare_digest(client_id.encode(), expected_id.encode()):
        return False
    if client_secret is None:
        return True
    expected = settings.XERO_SANDBOX_CLIENT_SECRET
    return bool(expected) and hmac.compare_digest(client_secret.encode(), expected.encode())


def client_credentials(request: HttpRequest) -> tuple[str, str | None]:
    """(client_id, client_secret) from HTTP Basic or the form body; secret None if absent."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return "", ""
        client_id, _, basic_secret = decoded.partition(":")
        return client_id, basic_secret
    return request.POST.get("client_id", ""), request.POST.get("client_secret")


def code_issue(
    *, client_id: str, scope: str, redirect_uri: str, code_challenge: str
) -> tuple[str, XeroSandboxGrant]:
    code = secrets.token_urlsafe(32)
    grant = XeroSandboxGrant.objects.create(
        token_hash=token_hash(code),
        kind=Kind.CODE,
        client_id=client_id,
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge=code_challenge,
        expires_at=timezone.now() + timedelta(seconds=CODE_SECONDS),
    )
    return code, grant


def single_use_take(*, token: str, kind: str, client_id: str) -> XeroSandboxGrant | None:
    """The code or refresh token, marked used; None if unknown, expired, revoked or used."""
    now = timezone.now()
    digest = token_hash(token)
    # Why one conditional UPDATE: a replayed refresh token racing the legitimate one must not
    # both succeed; exactly one request sees "1 row changed".
    taken = XeroSandboxGrant.objects.filter(
        token_hash=digest,
        kind=kind,
        client_id=client_id,
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).update(used_at=now)
    if taken != 1:
        return None
    return XeroSandboxGrant.objects.get(token_hash=digest)


def pkce_matches(challenge: str, verifier: str) -> bool:
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(expected.encode(), challenge.encode())


def grants_purge(*, batch: int = 500) -> int:
    """Forget codes and tokens expired over a day ago, a bounded batch at a time."""
    old = XeroSandboxGrant.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1))
    keys = list(old.values_list("pk", flat=True)[:batch])
    return XeroSandboxGrant.objects.filter(pk__in=keys).delete()[0] if keys else 0


def tokens_issue(*, parent: XeroSandboxGrant) -> dict[str, object]:
    """A new access token (and a refresh token with `offline_access`), Xero's token answer."""
    grants_purge()
    now = timezone.now()
    lifetime = settings.XERO_SANDBOX_ACCESS_TOKEN_SECONDS
    access = secrets.token_urlsafe(40)
    common = {
        "client_id": parent.client_id,
        "scope": parent.scope,
        "family": parent.family,
        "code_challenge": "pkce" if parent.code_challenge else "",
    }
    XeroSandboxGrant.objects.create(
        token_hash=token_hash(access),
        kind=Kind.ACCESS,
        expires_at=now + timedelta(seconds=lifetime),
        **common,
    )
    answer: dict[str, object] = {
        "access_token": access,
        "expires_in": lifetime,
        "token_type": "Bearer",
        "scope": parent.scope,
    }
    if "offline_access" in parent.scope.split():
        refresh = secrets.token_urlsafe(40)
        XeroSandboxGrant.objects.create(
            token_hash=token_hash(refresh),
            kind=Kind.REFRESH,
            expires_at=now + timedelta(days=REFRESH_DAYS),
            **common,
        )
        answer["refresh_token"] = refresh
    return answer


def family_revoke(*, token: str, client_id: str) -> bool:
    """Revoke the refresh token's whole family (access tokens too) and the app's connections."""
    grant = XeroSandboxGrant.objects.filter(
        token_hash=token_hash(token), client_id=client_id
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
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return Bearer(None, "AuthenticationUnsuccessful")
    grant = XeroSandboxGrant.objects.filter(
        token_hash=token_hash(header[7:].strip()), kind=Kind.ACCESS
    ).first()
    if grant is None or grant.revoked_at is not None:
        return Bearer(None, "AuthenticationUnsuccessful")
    if grant.expires_at <= timezone.now():
        return Bearer(None, f"TokenExpired: token expired at {grant.expires_at:%m/%d/%Y %H:%M:%S}")
    return Bearer(grant, "")


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
        expected = settings.XERO_SANDBOX_CLIENT_SECRET
        supplied = header[7:].strip()
        return bool(expected) and hmac.compare_digest(supplied.encode(), expected.encode())
    if header.startswith("Basic "):
        client_id, secret = client_credentials(request)
        return secret is not None and client_valid(client_id, secret)
    return False
