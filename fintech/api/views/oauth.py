"""OAuth endpoints we adjust: token introspection limited to the caller's own tokens, and the
login page a business member sees on the way to approving an application (/o/authorize/)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import View
from oauth2_provider.compat import login_not_required
from oauth2_provider.models import AccessToken
from oauth2_provider.views import IntrospectTokenView
from oauthlib.common import Request as OauthlibRequest

INACTIVE = {"active": False}


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class OwnTokenIntrospectView(IntrospectTokenView):
    """RFC 7662 introspection where a client learns about its own tokens only.

    DOT's view answers any authenticated client about any token, so one integrator could test
    a token it found against our server and read whose it is. Here the caller must
    authenticate as a client (HTTP Basic, or client_id and client_secret in the body) and a
    token issued to another application is reported as `{"active": false}`, exactly like an
    unknown one (RFC 7662 section 2.2), so its existence is not revealed either.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        oauth_request = OauthlibRequest(uri, http_method, body, headers)
        if not core.server.request_validator.authenticate_client(oauth_request):
            response = JsonResponse(
                {
                    "error": "invalid_client",
                    "error_description": "Authenticate as the client that owns the token.",
                },
                status=401,
            )
            response["WWW-Authenticate"] = 'Basic realm="oauth"'
            return response
        self.client_pk = oauth_request.client.pk
        # Client authentication is done: skip DOT's ClientProtectedResourceMixin.dispatch (it
        # would also accept a bearer token) and go straight to get/post.
        return View.dispatch(self, request, *args, **kwargs)

    def _own_token_response(self, token_value: str | None) -> HttpResponse:
        if token_value is None:
            return self.get_token_response(None)
        checksum = hashlib.sha256(token_value.encode("utf-8")).hexdigest()
        owned = AccessToken.objects.filter(
            token_checksum=checksum, application_id=self.client_pk
        ).exists()
        if not owned:
            return JsonResponse(INACTIVE)
        return self.get_token_response(token_value)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._own_token_response(request.GET.get("token"))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._own_token_response(request.POST.get("token"))


class CustomerLoginView(LoginView):
    """Django's login form for business members (templates/registration/login.html); after it
    they land back on /o/authorize/ (the `next` parameter) to approve the application."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True
    # Without a `next` (someone opened the page directly): the API documentation.
    next_page = "/api/v1/docs/"
