"""django-oauth-toolkit hooks: scopes per application and the member check on authorisation.

- `ApiClientScopes` (OAUTH2_PROVIDER["SCOPES_BACKEND_CLASS"]): an application may obtain only
  the scopes granted on its `ApiClient`; asking for another gives `invalid_scope`. Without a
  `scope` parameter it gets all of its granted scopes.
- `ApiOAuth2Validator` (OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]): an authorization code is
  only issued when the approving user is a member of the application's bound profile; a
  refreshed token never keeps a scope the application has lost since; token lookups load the
  application's binding and profile in the same query.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from django.contrib.auth.models import User
from oauth2_provider.models import AbstractApplication, AccessToken, Application
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauthlib.common import Request as OauthlibRequest
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from oauthlib.oauth2.rfc6749.utils import scope_to_list

from fintech.api.models import ApiClient
from fintech.api.scopes import ALL_SCOPES, SCOPES
from fintech.core.sql import Part, Parts, fetch_instances, quoted_table, select_list
from fintech.customers.models import Membership, Profile


def granted_scopes(application: AbstractApplication | None) -> list[str]:
    """The scopes granted to `application` (none for an application without a binding)."""
    if application is None:
        return []
    try:
        api_client: ApiClient = application.api_client
    except ApiClient.DoesNotExist:
        return []
    return [scope for scope in api_client.scopes if scope in SCOPES]


class ApiClientScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        return dict(SCOPES)

    def get_available_scopes(
        self,
        application: AbstractApplication | None = None,
        request: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> list[str]:
        # Without an application (server metadata, discovery) every scope the API knows.
        if application is None:
            return list(ALL_SCOPES)
        return granted_scopes(application)

    def get_default_scopes(
        self,
        application: AbstractApplication | None = None,
        request: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> list[str]:
        return granted_scopes(application)


def is_member(*, user_id: int | None, profile_id: int) -> bool:
    if user_id is None:
        return False
    return Membership.objects.filter(user_id=user_id, profile_id=profile_id).exists()


class ApiOAuth2Validator(OAuth2Validator):
    def save_authorization_code(
        self,
        client_id: str,
        code: dict[str, Any],
        request: OauthlibRequest,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        # Checked here, after the user approved: the user is known only at this point. An
        # OAuth2Error raised here reaches the client as error=access_denied on its redirect.
        try:
            api_client = ApiClient.objects.get(application=request.client)
        except ApiClient.DoesNotExist as exc:
            raise oauth_errors.AccessDeniedError(
                description="This application is not bound to a business profile.",
                request=request,
            ) from exc
        user = getattr(request, "user", None)
        if not is_member(user_id=getattr(user, "pk", None), profile_id=api_client.profile_id):
            raise oauth_errors.AccessDeniedError(
                description="Only a member of the application's business can authorise it.",
                request=request,
            )
        super().save_authorization_code(client_id, code, request, *args, **kwargs)

    def get_original_scopes(
        self, refresh_token: str, request: OauthlibRequest, *args: Any, **kwargs: Any
    ) -> list[str]:
        # A scope withdrawn from the application is not given back by a refresh.
        # DOT returns the stored scope string ("a b"), oauthlib accepts a string or a list.
        original = scope_to_list(
            super().get_original_scopes(refresh_token, request, *args, **kwargs)
        )
        granted = set(granted_scopes(request.client))
        return [scope for scope in original or [] if scope in granted]

    def _load_access_token(self, token: str) -> AccessToken | None:
        # Every API request starts here: the token, its application, binding, profile and user
        # in one query, by the token's checksum as DOT looks it up. The ORM spends about three
        # times the query's own cost compiling this four-join select_related on every call, so
        # the SQL is built once per process and the rows become model instances directly.
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return token_with_binding(checksum)


_JOINED: Parts = (
    Part(AccessToken, "t"),
    Part(Application, "a"),
    Part(ApiClient, "c"),
    Part(Profile, "p"),
    Part(User, "u"),
)


@functools.cache
def _token_sql() -> str:
    # LEFT JOINs: a token without an application, binding or user still loads (and is then
    # refused by the authentication with a clear message).
    return (
        f"SELECT {select_list(_JOINED)} FROM {quoted_table(AccessToken)} t "  # noqa: S608 (names from _meta)
        f"LEFT JOIN {quoted_table(Application)} a ON a.id = t.application_id "
        f"LEFT JOIN {quoted_table(ApiClient)} c ON c.application_id = a.id "
        f"LEFT JOIN {quoted_table(Profile)} p ON p.id = c.profile_id "
        f"LEFT JOIN {quoted_table(User)} u ON u.id = t.user_id "
        "WHERE t.token_checksum = %s"
    )


def token_with_binding(checksum: str) -> AccessToken | None:
    """The access token with `application.api_client.profile` and `user` loaded (one query)."""
    loaded = fetch_instances(_token_sql(), [checksum], _JOINED)
    if loaded is None:
        return None
    access_token, application, api_client, profile, user = loaded
    assert isinstance(access_token, AccessToken)
    # Assigning the related objects fills Django's relation caches: no lazy queries later.
    AccessToken.application.field.set_cached_value(access_token, application)
    AccessToken.user.field.set_cached_value(access_token, user)
    if application is not None:
        if api_client is not None:
            ApiClient.profile.field.set_cached_value(api_client, profile)
            ApiClient.application.field.set_cached_value(api_client, application)
        # The reverse one-to-one (application.api_client); None raises DoesNotExist on access.
        Application.api_client.related.set_cached_value(application, api_client)
    return access_token
