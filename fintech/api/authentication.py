"""Bearer tokens to callers: which application, acting for which business, with which scopes.

A client-credentials token has no user: its application's `ApiClient` names the business. An
authorization-code token also carries the user who approved it, who must still be a member of
that business. The effective scopes are the token's scopes that the application still holds,
so withdrawing a grant takes effect on the next request, not at token expiry.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.contrib.auth.models import AnonymousUser
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from fintech.api.models import ApiClient
from fintech.api.oauth import is_member
from fintech.core.services import Actor
from fintech.customers.models import Profile


@functools.cache
def _validator() -> OAuth2Validator:
    validator: OAuth2Validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()
    return validator


@dataclass(frozen=True, slots=True)
class ApiCaller:
    """Who is calling: set on the request as `request.api_caller` by the authentication."""

    application_id: int
    client_id: str
    api_client: ApiClient
    profile: Profile
    user_id: int | None
    username: str
    scopes: frozenset[str]
    request_id: str

    @property
    def is_sandbox(self) -> bool:
        return self.api_client.is_sandbox

    @property
    def actor(self) -> Actor:
        label = f"app:{self.client_id}"
        if self.user_id is not None:
            label += f" user:{self.username}"
        return Actor(label=label, user_id=self.user_id, request_id=self.request_id)


class ApiTokenAuthentication(OAuth2Authentication):
    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[Any, AccessToken] | None:
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None  # no credentials: DRF answers 401 "not provided"
        # django-oauth-toolkit's own token check (expiry, revocation, RFC 8707 audience, the
        # application still usable), called directly: going through oauthlib's generic
        # endpoint first (request parsing, body decoding) cost as much as the token query on
        # every API request. Tokens are read from the header only (RFC 9700 forbids the query
        # string; DOT refuses it too).
        checked = SimpleNamespace(uri=request.build_absolute_uri())
        if not _validator().validate_bearer_token(bearer.strip(), [], checked):
            # Its reason (e.g. error="invalid_token") goes into WWW-Authenticate.
            request.oauth2_error = getattr(checked, "oauth2_error", {})  # type: ignore[attr-defined]
            raise AuthenticationFailed("The access token is invalid, expired or revoked.")
        user, token = checked.user, checked.access_token
        application = token.application
        try:
            api_client: ApiClient | None = application.api_client if application else None
        except ApiClient.DoesNotExist:
            api_client = None
        if application is None or api_client is None:
            raise AuthenticationFailed("The token's application is not bound to a business.")
        profile = api_client.profile
        if profile.is_sandbox != api_client.is_sandbox:
            raise AuthenticationFailed("The application's binding is inconsistent.")
        if user is not None and not is_member(user_id=user.pk, profile_id=profile.pk):
            raise AuthenticationFailed("The user who authorised this token is no longer a member.")
        caller = ApiCaller(
            application_id=application.pk,
            client_id=application.client_id,
            api_client=api_client,
            profile=profile,
            user_id=user.pk if user is not None else None,
            username=user.get_username() if user is not None else "",
            scopes=frozenset(token.scope.split()) & frozenset(api_client.scopes),
            request_id=getattr(request, "request_id", ""),
        )
        # On the Django request, so the middleware's request log sees it too.
        request._request.api_caller = caller  # type: ignore[attr-defined]
        return (user if user is not None else AnonymousUser()), token

    def authenticate_header(self, request: Request) -> str:
        header: str = super().authenticate_header(request)
        if "error=" not in header and request.headers.get("Authorization"):
            header += ',error="invalid_token"'
        return header
