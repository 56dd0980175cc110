"""/integrations/oauth/...: mounted by fintech/urls.py (the browser's side of connecting)."""

from django.urls import path

from integrations.sync import views

urlpatterns = [path("callback/", views.oauth_callback, name="sync_oauth_callback")]
