"""The QuickBooks sandbox's routes, under /sandbox/quickbooks/ (included by
simulators/urls.py). Intuit's hosts become paths here (docs/quickbooks-sandbox.md)."""

from django.urls import path

from integrations.simulators.quickbooks import api, control, identity

V3 = "v3/company/<str:realm_id>/"

urlpatterns = [
    path(".well-known/openid_sandbox_configuration", identity.discovery, name="qbo-discovery"),
    path("oauth2/authorize", identity.authorize, name="qbo-authorize"),
    path("oauth2/tokens/bearer", identity.bearer, name="qbo-token"),
    path("oauth2/revoke", identity.revoke, name="qbo-revoke"),
    path(f"{V3}query", api.query, name="qbo-query"),
    path(f"{V3}cdc", api.cdc, name="qbo-cdc"),
    path(f"{V3}preferences", api.preferences, name="qbo-preferences"),
    path(f"{V3}companyinfo/<str:company_id>", api.companyinfo, name="qbo-companyinfo"),
    path(f"{V3}<str:entity>", api.entity_write, name="qbo-entity"),
    path(f"{V3}<str:entity>/<str:object_id>", api.entity_read, name="qbo-entity-read"),
    path("control/companies", control.company_new, name="qbo-control-companies"),
    path("control/<str:realm_id>", control.company_settings, name="qbo-control"),
    path(
        "control/<str:realm_id>/objects/<str:entity>/<str:object_id>",
        control.object_change,
        name="qbo-control-object",
    ),
]
