"""Xero's identity server in the sandbox: authorize (consent is automatic), token, revocation
and the app's connections (`/connections`), with Xero's shapes.

- `GET identity/connect/authorize?response_type=code&client_id&redirect_uri&scope&state
  [&code_challenge&code_challenge_method=S256]`: connects the app to every sandbox org (the
  default one is created on first use) and redirects to `redirect_uri?code=...&state=...`.
- `POST identity/connect/token` (client credentials by HTTP Basic or in the form; a PKCE
  client may send its id alone): `authorization_code` (code single-use, redirect_uri must
  match, PKCE verifier checked) or `refresh_token` (single-use: the answer carries the next).
- `POST identity/connect/revocation` (token=refresh token) revokes it and its tokens.
- `GET connections`, `DELETE connections/<id>` (Bearer access token).
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations.models import XeroSandboxConnection, XeroSandboxGrant, XeroSandboxOrg
from integrations.simulators import oauth
from integrations.simulators.xero import tokens
from integrations.simulators.xero.orgs import org_default
from integrations.simulators.xero.responses import problem

oauth_error = oauth.oauth_error


@require_GET
def authorize(request: HttpRequest) -> HttpResponse:
    asked = oauth.authorize_read(
        request,
        client_known=lambda client_id: tokens.client_valid(client_id, None),
        unknown_client="unauthorized_client",
    )
    if isinstance(asked, HttpResponse):
        return asked
    client_id, redirect_uri, scope = asked.client_id, asked.redirect_uri, asked.scope
    if not scope:
        return asked.refuse("invalid_scope")
    org_default()
    auth_event = uuid.uuid4()
    with transaction.atomic():
        for org in XeroSandboxOrg.objects.all():
            XeroSandboxConnection.objects.update_or_create(
                org=org, client_id=client_id, defaults={"auth_event_id": auth_event}
            )
        code, _grant = tokens.code_issue(
            client_id=client_id,
            scope=scope,
            redirect_uri=redirect_uri,
            code_challenge=asked.challenge,
        )
    return oauth.redirect_to(redirect_uri, {"code": code, "scope": scope, **asked.with_state})


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> JsonResponse:
    # One transaction: a code or refresh token is spent only if its successors are issued.
    with transaction.atomic():
        return _token(request)


def _token(request: HttpRequest) -> JsonResponse:
    client_id, secret = tokens.client_credentials(request)
    if not tokens.client_valid(client_id, secret):
        return oauth_error("invalid_client", 401)
    grant_type = request.POST.get("grant_type", "")
    if grant_type == "authorization_code":
        grant = tokens.single_use_take(
            token=request.POST.get("code", ""), kind=tokens.Kind.CODE, client_id=client_id
        )
        if grant is None or grant.redirect_uri != request.POST.get("redirect_uri", ""):
            return oauth_error("invalid_grant")
        verifier = request.POST.get("code_verifier", "")
        if grant.code_challenge:
            if not verifier or not tokens.pkce_matches(grant.code_challenge, verifier):
                return oauth_error("invalid_grant", description="code_verifier does not match")
        elif secret is None:
            return oauth_error("invalid_client", 401)
    elif grant_type == "refresh_token":
        grant = tokens.single_use_take(
            token=request.POST.get("refresh_token", ""),
            kind=tokens.Kind.REFRESH,
            client_id=client_id,
        )
        if grant is None:
            return oauth_error("invalid_grant")
        if secret is None and not grant.code_challenge:
            return oauth_error("invalid_client", 401)
    else:
        return oauth_error("unsupported_grant_type")
    answer = tokens.tokens_issue(parent=grant)
    response = JsonResponse(answer)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_POST
def revocation(request: HttpRequest) -> HttpResponse:
    client_id, secret = tokens.client_credentials(request)
    if not tokens.client_valid(client_id, secret):
        return oauth_error("invalid_client", 401)
    tokens.family_revoke(token=request.POST.get("token", ""), client_id=client_id)
    return HttpResponse(status=200)  # RFC 7009: unknown tokens answer 200 too


def _bearer_grant(request: HttpRequest) -> XeroSandboxGrant | JsonResponse:
    checked = tokens.bearer_check(request)
    if checked.grant is None:
        response = problem(401, "Unauthorized", checked.problem)
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    return checked.grant


def _connection_json(connection: XeroSandboxConnection) -> dict[str, object]:
    return {
        "id": str(connection.id),
        "authEventId": str(connection.auth_event_id),
        "tenantId": str(connection.org_id),
        "tenantType": "ORGANISATION",
        "tenantName": connection.org.name,
        "createdDateUtc": connection.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f0"),
        "updatedDateUtc": connection.updated_at.strftime("%Y-%m-%dT%H:%M:%S.%f0"),
    }


@require_GET
def connections(request: HttpRequest) -> JsonResponse:
    grant = _bearer_grant(request)
    if isinstance(grant, JsonResponse):
        return grant
    rows = XeroSandboxConnection.objects.select_related("org").filter(client_id=grant.client_id)
    auth_event = request.GET.get("authEventId")
    if auth_event:
        try:
            rows = rows.filter(auth_event_id=uuid.UUID(auth_event))
        except ValueError:
            return JsonResponse([], safe=False)
    return JsonResponse([_connection_json(c) for c in rows.order_by("created_at")], safe=False)


@csrf_exempt
@require_http_methods(["DELETE"])
def connection_delete(request: HttpRequest, connection_id: uuid.UUID) -> HttpResponse:
    grant = _bearer_grant(request)
    if isinstance(grant, JsonResponse):
        return grant
    deleted, _ = XeroSandboxConnection.objects.filter(
        pk=connection_id, client_id=grant.client_id
    ).delete()
    if not deleted:
        return problem(404, "NotFound", "Resource not found")
    return HttpResponse(status=204)
