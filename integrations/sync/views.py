"""The browser end of connecting books: the provider redirects here with `code` and `state`.

`GET /integrations/oauth/callback/?code=...&state=...` (oauth.callback_url()). No login: the
state is the only credential (unguessable, single-use, expiring after 15 minutes), and it is
spent by `services.connection_finish` whatever happens next. Then the browser goes back to
where the dance started (`OAuthAuthorization.return_to`, a path on this site) or sees a small
"connected" page; every refusal is a page saying what happened and what to do.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from integrations.errors import IntegrationError
from integrations.sync import oauth, services
from integrations.sync.models import Connection, OAuthAuthorization

logger = logging.getLogger(__name__)
TEMPLATE = "integrations/oauth_result.html"


def _page(request: HttpRequest, *, status: int, title: str, detail: str, ok: bool) -> HttpResponse:
    response = TemplateResponse(
        request, TEMPLATE, {"title": title, "detail": detail, "ok": ok}, status=status
    )
    _private(response)
    return response


def _private(response: HttpResponse) -> None:
    # The URL carries an authorization code: keep it out of caches and other sites' logs.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"


def _connection_of(state: str) -> Connection | None:
    row = OAuthAuthorization.objects.select_related("connection").filter(state=state).first()
    return row.connection if row else None


def callback_params(query: Mapping[str, str]) -> dict[str, str]:
    """What the redirect carries besides the code and state, for the provider's adapter
    (Intuit's `realmId`): bounded, since anyone can craft this URL."""
    extras = [(k, v) for k, v in query.items() if k not in ("code", "state", "error")]
    return {str(k)[:50]: str(v)[:200] for k, v in extras[:20]}


@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")[:100]
    code = request.GET.get("code", "")[:2000]
    refused = request.GET.get("error", "")[:100]
    if refused:
        # The user declined (or the provider refused) at their end: spend the state anyway.
        if state:
            with contextlib.suppress(IntegrationError):
                oauth.authorization_take(state=state)
        return _page(
            request,
            status=400,
            title="Not connected",
            detail=f"The provider did not grant access ({refused}). Start connecting again "
            "if you meant to.",
            ok=False,
        )
    if not state or not code:
        return _page(
            request,
            status=400,
            title="Not connected",
            detail="This link is incomplete (no state or code). Start connecting again.",
            ok=False,
        )
    started = timezone.now()
    try:
        connection = services.connection_finish(
            state=state, code=code, callback=callback_params(request.GET)
        )
    except (IntegrationError, LookupError) as exc:
        message = exc.message if isinstance(exc, IntegrationError) else str(exc)
        connection_now = _connection_of(state)
        refreshed = connection_now.token_refreshed_at if connection_now else None
        if connection_now and connection_now.is_active and refreshed and refreshed >= started:
            # Connected; only what came after (fetching their chart of accounts) failed.
            return _page(
                request,
                status=200,
                title=f"Connected to {connection_now.tenant_name or connection_now.provider}",
                detail="The connection works, but their chart of accounts could not be "
                f"fetched yet ({message}); an operator can refresh it.",
                ok=True,
            )
        transient = getattr(exc, "transient", False)
        logger.warning("oauth callback refused: %s", message)
        return _page(
            request,
            status=502 if transient else 400,
            title="Not connected",
            detail=message[:500]
            + (" Try again in a moment: start connecting again." if transient else ""),
            ok=False,
        )
    row = OAuthAuthorization.objects.filter(state=state).values_list("return_to", flat=True)
    return_to = row.first() or ""
    done = (
        f"Connected to {connection.tenant_name}."
        if connection.is_active
        else "Signed in: choose the organisation to connect."
    )
    if return_to and url_has_allowed_host_and_scheme(
        return_to, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        messages.success(request, f"{connection.provider}: {done}")
        response = HttpResponseRedirect(return_to)
        _private(response)
        return response
    return _page(request, status=200, title=done, detail="You can close this page.", ok=True)
