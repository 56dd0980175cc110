"""What the sandboxes' OAuth 2.0 servers (Xero's, Intuit's) share: codes and tokens as random
strings kept only as SHA-256 hashes (a SandboxGrant row), client authentication by HTTP Basic
or the form, PKCE (S256), single-use codes and refresh tokens, Bearer checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import timezone

from integrations.models import SandboxGrant

G = TypeVar("G", bound=SandboxGrant)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(supplied: str, expected: str) -> bool:
    """A secret compared in constant time; an empty expected secret matches nothing."""
    return bool(expected) and hmac.compare_digest(supplied.encode(), expected.encode())


def basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    """(client_id, client_secret) from `Authorization: Basic`; None without that header."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return "", ""
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def pkce_matches(challenge: str, verifier: str) -> bool:
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(expected.encode(), challenge.encode())


def single_use_take(model: type[G], *, token: str, kind: str, client_id: str) -> G | None:
    """The code or refresh token, marked used; None if unknown, expired, revoked or used."""
    now = timezone.now()
    digest = token_hash(token)
    # Why one conditional UPDATE: a replayed refresh token racing the legitimate one must not
    # both succeed; exactly one request sees "1 row changed".
    taken = model._default_manager.filter(
        token_hash=digest,
        kind=kind,
        client_id=client_id,
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).update(used_at=now)
    if taken != 1:
        return None
    return model._default_manager.get(token_hash=digest)


def grants_purge(model: type[SandboxGrant], *, batch: int = 500) -> int:
    """Forget codes and tokens expired over a day ago, a bounded batch at a time."""
    old = model._default_manager.filter(expires_at__lt=timezone.now() - timedelta(days=1))
    keys = list(old.values_list("pk", flat=True)[:batch])
    return model._default_manager.filter(pk__in=keys).delete()[0] if keys else 0


def grant_create(model: type[G], *, token: str, kind: str, seconds: int, **fields: Any) -> G:
    return model._default_manager.create(
        token_hash=token_hash(token),
        kind=kind,
        expires_at=timezone.now() + timedelta(seconds=seconds),
        **fields,
    )


@dataclass(frozen=True)
class Bearer:
    grant: Any  # the access token's SandboxGrant, None when refused
    expired_at: Any = None  # when refused for expiry: the moment it expired


def bearer_check(model: type[SandboxGrant], request: HttpRequest) -> Bearer:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return Bearer(None)
    grant = model._default_manager.filter(
        token_hash=token_hash(header[7:].strip()), kind=SandboxGrant.Kind.ACCESS
    ).first()
    if grant is None or grant.revoked_at is not None:
        return Bearer(None)
    if grant.expires_at <= timezone.now():
        return Bearer(None, grant.expires_at)
    return Bearer(grant)


def oauth_error(error: str, status: int = 400, description: str = "") -> JsonResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return JsonResponse(body, status=status)


def redirect_to(redirect_uri: str, params: dict[str, str]) -> HttpResponseRedirect:
    separator = "&" if "?" in redirect_uri else "?"
    return HttpResponseRedirect(f"{redirect_uri}{separator}{urlencode(params)}")


@dataclass(frozen=True)
class Authorize:
    """An authorization request's parameters, checked as far as every sandbox checks them."""

    client_id: str
    redirect_uri: str
    scope: str  # normalised: single spaces
    challenge: str  # the PKCE S256 challenge, or ""
    with_state: dict[str, str]  # {"state": ...} to send back, or {}

    def refuse(self, error: str) -> HttpResponseRedirect:
        return redirect_to(self.redirect_uri, {"error": error, **self.with_state})


def authorize_read(
    request: HttpRequest, *, client_known: Callable[[str], bool], unknown_client: str
) -> Authorize | HttpResponse:
    """The request's parameters, or the answer refusing it: an unknown client or a redirect
    URI that is not http(s) as a JSON error (never redirected to); a response_type other
    than code or a PKCE method other than S256 redirected back with the error."""
    params = request.GET
    state = params.get("state", "")
    asked = Authorize(
        client_id=params.get("client_id", ""),
        redirect_uri=params.get("redirect_uri", ""),
        scope=" ".join(params.get("scope", "").split()),
        challenge=params.get("code_challenge", ""),
        with_state={"state": state} if state else {},
    )
    if not client_known(asked.client_id):
        return oauth_error(unknown_client, description="unknown client_id")
    if urlsplit(asked.redirect_uri).scheme not in ("http", "https"):
        return oauth_error("invalid_request", description="redirect_uri must be an http(s) URL")
    if params.get("response_type") != "code":
        return asked.refuse("unsupported_response_type")
    if asked.challenge and params.get("code_challenge_method") != "S256":
        return asked.refuse("invalid_request")
    return asked
