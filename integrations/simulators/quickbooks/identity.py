"""Intuit's OAuth 2.0 server in the sandbox (Intuit's shapes, our paths):

- `GET oauth2/authorize?client_id&redirect_uri&response_type=code&scope&state
  [&code_challenge&code_challenge_method=S256][&realm_id]`: consent is automatic; the company
  is `realm_id` when given (a sandbox extra), else the default one (created on first use).
  Redirects to `redirect_uri?code=...&state=...&realmId=<realm>`. Scope must include
  `com.intuit.quickbooks.accounting`.
- `POST oauth2/tokens/bearer` (form; client by HTTP Basic): `authorization_code` (single-use
  code, same redirect_uri, PKCE verifier when a challenge was sent) or `refresh_token`.
  Answer `{"token_type": "bearer", "access_token", "expires_in": 3600, "refresh_token",
  "x_refresh_token_expires_in"}`. Refresh tokens ROTATE: each use answers a new one; the
  spent one answers the same successor for QUICKBOOKS_SANDBOX_REFRESH_GRACE_SECONDS (two
  workers racing get one family), then `invalid_grant`. A company steered to refuse
  refreshes answers `invalid_grant` (reconnect required).
- `POST oauth2/revoke` (JSON `{"token": <refresh or access token>}`, HTTP Basic): revokes
  the whole family; 200.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from integrations.models import QuickBooksSandboxCompany as Company
from integrations.models import QuickBooksSandboxGrant as Grant
from integrations.simulators import oauth
from integrations.simulators.quickbooks.companies import company_default

Kind = Grant.Kind
SCOPE = "com.intuit.quickbooks.accounting"
CODE_SECONDS = 300


oauth_error = oauth.oauth_error


def client_valid(client_id: str, secret: str | None = None) -> bool:
    if not oauth.same(client_id, settings.QUICKBOOKS_SANDBOX_CLIENT_ID):
        return False
    return secret is None or oauth.same(secret, settings.QUICKBOOKS_SANDBOX_CLIENT_SECRET)


def client_of(request: HttpRequest) -> str | None:
    """The app authenticated by HTTP Basic (Intuit's way), or by client_id/client_secret in
    the form; None when it is not our sandbox app."""
    basic = oauth.basic_credentials(request)
    client_id, secret = basic or (
        request.POST.get("client_id", ""),
        request.POST.get("client_secret", ""),
    )
    return client_id if client_valid(client_id, secret) else None


@require_GET
def authorize(request: HttpRequest) -> HttpResponse:
    asked = oauth.authorize_read(
        request, client_known=client_valid, unknown_client="invalid_client"
    )
    if isinstance(asked, HttpResponse):
        return asked
    if SCOPE not in asked.scope.split():
        return asked.refuse("invalid_scope")
    wanted = request.GET.get("realm_id", "")
    company = Company.objects.filter(pk=wanted).first() if wanted else company_default()
    if company is None:
        return asked.refuse("access_denied")
    code = secrets.token_urlsafe(32)
    oauth.grant_create(
        Grant,
        token=code,
        kind=Kind.CODE,
        seconds=CODE_SECONDS,
        client_id=asked.client_id,
        scope=asked.scope,
        redirect_uri=asked.redirect_uri,
        code_challenge=asked.challenge,
        company=company,
    )
    params = {"code": code, **asked.with_state, "realmId": company.realm_id}
    return oauth.redirect_to(asked.redirect_uri, params)


def _issue(parent: Grant, kind: str, seconds: int) -> str:
    """A new token of `kind` in `parent`'s family (same app, scope and company)."""
    token = secrets.token_urlsafe(40)
    oauth.grant_create(
        Grant,
        token=token,
        kind=kind,
        seconds=seconds,
        client_id=parent.client_id,
        scope=parent.scope,
        family=parent.family,
        company=parent.company,
    )
    return token


def tokens_issue(*, parent: Grant) -> tuple[dict[str, object], str]:
    """A new access token and refresh token in Intuit's answer; and the refresh token."""
    oauth.grants_purge(Grant)
    # Successors are kept in clear only for the grace: forget those past it.
    grace = timedelta(seconds=settings.QUICKBOOKS_SANDBOX_REFRESH_GRACE_SECONDS)
    Grant.objects.filter(used_at__lt=timezone.now() - grace).exclude(successor="").update(
        successor=""
    )
    refresh_seconds = settings.QUICKBOOKS_SANDBOX_REFRESH_TOKEN_SECONDS
    access = _issue(parent, Kind.ACCESS, settings.QUICKBOOKS_SANDBOX_ACCESS_TOKEN_SECONDS)
    refresh = _issue(parent, Kind.REFRESH, refresh_seconds)
    return _answer(access, refresh, refresh_seconds), refresh


def _answer(access: str, refresh: str, refresh_seconds: int) -> dict[str, object]:
    return {
        "token_type": "bearer",
        "access_token": access,
        "expires_in": settings.QUICKBOOKS_SANDBOX_ACCESS_TOKEN_SECONDS,
        "refresh_token": refresh,
        "x_refresh_token_expires_in": refresh_seconds,
    }


def _within_grace(token: str, client_id: str) -> dict[str, object] | None:
    """A refresh token spent moments ago (a racing refresh): a new access token with the
    successor it was given, so both racers hold the same refresh token."""
    grace = timedelta(seconds=settings.QUICKBOOKS_SANDBOX_REFRESH_GRACE_SECONDS)
    spent = Grant.objects.filter(
        token_hash=oauth.token_hash(token),
        kind=Kind.REFRESH,
        client_id=client_id,
        revoked_at__isnull=True,
        used_at__gt=timezone.now() - grace,
    ).first()
    if spent is None or not spent.successor:
        return None
    successor = Grant.objects.filter(
        token_hash=oauth.token_hash(spent.successor), revoked_at__isnull=True
    ).first()
    if successor is None:
        return None
    access = _issue(spent, Kind.ACCESS, settings.QUICKBOOKS_SANDBOX_ACCESS_TOKEN_SECONDS)
    left = int((successor.expires_at - timezone.now()).total_seconds())
    return _answer(access, spent.successor, left)


@csrf_exempt
@require_POST
def bearer(request: HttpRequest) -> JsonResponse:
    client_id = client_of(request)
    if client_id is None:
        return oauth_error("invalid_client", 401)
    grant_type = request.POST.get("grant_type", "")
    # One transaction: a code or refresh token is spent only if its successors are issued.
    with transaction.atomic():
        if grant_type == "authorization_code":
            answer = _code_exchange(request, client_id)
        elif grant_type == "refresh_token":
            answer = _refresh(request.POST.get("refresh_token", ""), client_id)
        else:
            return oauth_error("unsupported_grant_type")
    if isinstance(answer, JsonResponse):
        return answer
    response = JsonResponse(answer)
    response["Cache-Control"] = "no-store"
    return response


def _code_exchange(request: HttpRequest, client_id: str) -> dict[str, object] | JsonResponse:
    grant = oauth.single_use_take(
        Grant, token=request.POST.get("code", ""), kind=Kind.CODE, client_id=client_id
    )
    if grant is None or grant.redirect_uri != request.POST.get("redirect_uri", ""):
        return oauth_error("invalid_grant")
    verifier = request.POST.get("code_verifier", "")
    if grant.code_challenge and not (
        verifier and oauth.pkce_matches(grant.code_challenge, verifier)
    ):
        return oauth_error("invalid_grant", description="code_verifier does not match")
    answer, _refresh_token = tokens_issue(parent=grant)
    return answer


def _refresh(token: str, client_id: str) -> dict[str, object] | JsonResponse:
    digest = oauth.token_hash(token)
    known = Grant.objects.select_related("company").filter(token_hash=digest).first()
    if known is not None and known.company.refuse_refresh:
        return oauth_error("invalid_grant", description="The refresh was refused (steered)")
    grant = oauth.single_use_take(Grant, token=token, kind=Kind.REFRESH, client_id=client_id)
    if grant is None:
        # Taken by a racing request (its row lock made us wait until it committed): within
        # the grace, the same successor; afterwards, refused.
        again = _within_grace(token, client_id)
        return again if again is not None else oauth_error("invalid_grant")
    answer, successor = tokens_issue(parent=grant)
    Grant.objects.filter(pk=grant.pk).update(successor=successor)
    return answer


@csrf_exempt
@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    client_id = client_of(request)
    if client_id is None:
        return oauth_error("invalid_client", 401)
    try:
        token = str(json.loads(request.body or b"{}").get("token", ""))
    except (ValueError, AttributeError):
        return oauth_error("invalid_request", description='send {"token": "..."} as JSON')
    grant = Grant.objects.filter(token_hash=oauth.token_hash(token), client_id=client_id).first()
    if grant is not None:
        Grant.objects.filter(family=grant.family, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    return HttpResponse(status=200)


@require_GET
def discovery(request: HttpRequest) -> JsonResponse:
    """Intuit's OpenID discovery document (`/.well-known/openid_sandbox_configuration`), with
    the sandbox's endpoints: Intuit's own OAuth client (intuitlib's AuthClient) reads its
    endpoints from it when given this URL as its environment."""
    base = settings.QUICKBOOKS_SANDBOX_BASE_URL
    return JsonResponse(
        {
            "issuer": f"{base}/oauth2",
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "token_endpoint": f"{base}/oauth2/tokens/bearer",
            "userinfo_endpoint": f"{base}/oauth2/userinfo",
            "revocation_endpoint": f"{base}/oauth2/revoke",
            "jwks_uri": f"{base}/oauth2/keys",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": [SCOPE],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": [],
        }
    )
