"""HubSpot's OAuth in the CRM sandbox: authorize (consent is automatic, to the portal the
control endpoint made first, or a new one), the token endpoint (`authorization_code` with the
PKCE verifier checked when a challenge was sent, `refresh_token`: HubSpot's refresh tokens do
not rotate) and the access-token information HubSpot gives (`hub_id`: the portal)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from integrations.models import CrmSandboxGrant, CrmSandboxPortal
from integrations.simulators.crm.gate import token_hash

CODE_SECONDS = 300
REFRESH_DAYS = 180


def portal_default() -> CrmSandboxPortal:
    portal = CrmSandboxPortal.objects.order_by("pk").first()
    return portal or CrmSandboxPortal.objects.create(name="Sandbox portal")


def _issue(portal: CrmSandboxPortal, kind: str, client_id: str, seconds: int, **extra: Any) -> str:
    token = secrets.token_urlsafe(32)
    CrmSandboxGrant.objects.create(
        token_hash=token_hash(token),
        kind=kind,
        portal=portal,
        client_id=client_id,
        expires_at=timezone.now() + timedelta(seconds=seconds),
        **extra,
    )
    return token


def _error(status: str, message: str, code: int = 400) -> JsonResponse:
    # HubSpot's shape, with OAuth's `error` beside it (what OAuth clients read).
    error = "invalid_client" if status == "BAD_CLIENT_ID" else "invalid_grant"
    return JsonResponse(
        {"status": status, "message": message, "error": error, "error_description": message},
        status=code,
    )


@require_GET
def authorize(request: HttpRequest) -> HttpResponse:
    params = request.GET
    redirect_uri, state = params.get("redirect_uri", ""), params.get("state", "")
    if params.get("client_id") != settings.CRM_SANDBOX_CLIENT_ID:
        return _error("BAD_CLIENT_ID", "unknown client_id")
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return _error("BAD_REDIRECT_URI", "redirect_uri must be an http(s) URL")
    challenge = params.get("code_challenge", "")
    if challenge and params.get("code_challenge_method") != "S256":
        return _error("BAD_REQUEST", "code_challenge_method must be S256")
    code = _issue(
        portal_default(),
        CrmSandboxGrant.Kind.CODE,
        params["client_id"],
        CODE_SECONDS,
        scope=" ".join(params.get("scope", "").split()),
        redirect_uri=redirect_uri,
        code_challenge=challenge,
    )
    query = urlencode({"code": code, **({"state": state} if state else {})})
    return HttpResponseRedirect(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}")


def _client(request: HttpRequest) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return "", ""
        return client_id, secret
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> JsonResponse:
    client_id, secret = _client(request)
    if client_id != settings.CRM_SANDBOX_CLIENT_ID or not hmac.compare_digest(
        secret.encode(), settings.CRM_SANDBOX_CLIENT_SECRET.encode()
    ):
        return _error("BAD_CLIENT_ID", "missing or unknown client_id or client_secret", 401)
    grant_type = request.POST.get("grant_type", "")
    with transaction.atomic():
        if grant_type == "authorization_code":
            grant = (
                CrmSandboxGrant.objects.select_for_update()
                .filter(token_hash=token_hash(request.POST.get("code", "")), kind="code")
                .first()
            )
            if grant is None or grant.used_at or grant.expires_at < timezone.now():
                return _error("BAD_AUTH_CODE", "missing or unknown auth code")
            if grant.redirect_uri != request.POST.get("redirect_uri", ""):
                return _error("BAD_REDIRECT_URI", "redirect_uri does not match")
            if grant.code_challenge:
                verifier = request.POST.get("code_verifier", "").encode()
                computed = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier).digest())
                    .rstrip(b"=")
                    .decode()
                )
                if not hmac.compare_digest(computed, grant.code_challenge):
                    return _error("BAD_AUTH_CODE", "code_verifier does not match")
            grant.used_at = timezone.now()
            grant.save(update_fields=["used_at"])
            refresh = _issue(
                grant.portal,
                "refresh",
                client_id,
                REFRESH_DAYS * 86400,
                scope=grant.scope,
                family=grant.family,
            )
        elif grant_type == "refresh_token":
            refresh = request.POST.get("refresh_token", "")
            grant = CrmSandboxGrant.objects.filter(
                token_hash=token_hash(refresh), kind="refresh", expires_at__gt=timezone.now()
            ).first()
            if grant is None:
                return _error("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
        else:
            return _error("BAD_GRANT_TYPE", f"unsupported grant_type {grant_type!r}")
        seconds = settings.CRM_SANDBOX_ACCESS_TOKEN_SECONDS
        access = _issue(
            grant.portal, "access", client_id, seconds, scope=grant.scope, family=grant.family
        )
    return JsonResponse(
        {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": seconds,
        }
    )


@require_GET
def access_token_info(request: HttpRequest, token: str) -> JsonResponse:
    grant = (
        CrmSandboxGrant.objects.select_related("portal")
        .filter(token_hash=token_hash(token), kind="access", expires_at__gt=timezone.now())
        .first()
    )
    if grant is None:
        return _error("BAD_ACCESS_TOKEN", "missing or unknown access token", 404)
    return JsonResponse(
        {
            "token": token,
            "user": "sandbox-user@example.com",
            "hub_domain": f"portal-{grant.portal_id}.sandbox",
            "scopes": grant.scope.split(),
            "hub_id": grant.portal_id,
            "app_id": 1,
            "expires_in": int((grant.expires_at - timezone.now()).total_seconds()),
            "user_id": 1,
            "token_type": "access",
        }
    )
