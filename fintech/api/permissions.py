"""One permission: the token holds every scope the view declares for the request's method.

Views declare `required_scopes = {"GET": (TRANSFERS_READ,), "POST": (TRANSFERS_WRITE,)}`.
A method the view does not declare needs no scope (the view then has no handler for it and
answers 405); a test checks that every handler a view has is declared.
Subclassing DOT's TokenHasScope lets drf-spectacular document each operation's scopes.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.contrib.rest_framework import TokenHasScope
from rest_framework.request import Request

from fintech.api.exceptions import InsufficientScope


def declared_scopes(view: Any, method: str) -> list[str]:
    declared: dict[str, tuple[str, ...]] = getattr(view, "required_scopes", {})
    method = "GET" if method.upper() == "HEAD" else method.upper()
    return list(declared.get(method, ()))


class HasRequiredScopes(TokenHasScope):
    def has_permission(self, request: Request, view: Any) -> bool:
        caller = getattr(request, "api_caller", None)
        if caller is None:
            return False  # DRF answers 401: no authenticator succeeded
        missing = [s for s in self.get_scopes(request, view) if s not in caller.scopes]
        if missing:
            raise InsufficientScope(missing)
        return True

    def get_scopes(self, request: Request, view: Any) -> list[str]:
        return declared_scopes(view, request.method or "GET")
