"""OAuth routes mounted ahead of django-oauth-toolkit's own under /o/ (see fintech/urls.py):
the token endpoint with a failure limit, introspection limited to the caller's tokens, and
the members' login page for /o/authorize/
(Django's default LOGIN_URL, /accounts/login/)."""

from __future__ import annotations

from django.contrib.auth.views import LogoutView
from django.urls import path

from fintech.api.views.oauth import CustomerLoginView, OwnTokenIntrospectView, ThrottledTokenView

urlpatterns = [
    # DOT's token endpoint with a limit on failures (per client id and per address).
    path("o/token/", ThrottledTokenView.as_view(), name="oauth-token"),
    path("o/introspect/", OwnTokenIntrospectView.as_view(), name="oauth-introspect"),
    path("accounts/login/", CustomerLoginView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(next_page="/accounts/login/"), name="logout"),
]
