"""The CRM sandbox's routes, under /sandbox/crm/ (included by simulators/urls.py)."""

from django.urls import path

from integrations.simulators.crm import api, control, identity

urlpatterns = [
    path("oauth/authorize", identity.authorize, name="crm-authorize"),
    path("oauth/v1/token", identity.token, name="crm-token"),
    path("oauth/v1/access-tokens/<str:token>", identity.access_token_info, name="crm-token-info"),
    path("account-info/v3/details", api.account_details, name="crm-account-details"),
    path("crm/v3/owners", api.owners, name="crm-owners"),
    path("crm/v3/owners/<str:owner_id>", api.owner, name="crm-owner"),
    path("crm/v3/properties/<str:object_type>", api.properties, name="crm-properties"),
    path("crm/v3/properties/<str:object_type>/<str:name>", api.property_item, name="crm-property"),
    path("crm/v3/objects/<str:object_type>/search", api.search, name="crm-search"),
    path("crm/v3/objects/<str:object_type>", api.objects, name="crm-objects"),
    path("crm/v3/objects/<str:object_type>/<str:object_id>", api.item, name="crm-object"),
    path(
        "crm/v3/objects/<str:object_type>/<str:object_id>/associations/<str:to_type>",
        api.associations,
        name="crm-associations",
    ),
    path("control/portals", control.portal_new, name="crm-control-portals"),
    path("control/<int:portal_id>", control.portal_settings, name="crm-control"),
    path("control/<int:portal_id>/owners", control.owner_new, name="crm-control-owners"),
    path("control/<int:portal_id>/requests", control.requests_list, name="crm-control-requests"),
    path(
        "control/<int:portal_id>/objects/<str:object_type>",
        control.object_list,
        name="crm-control-objects",
    ),
    path(
        "control/<int:portal_id>/merge/<str:object_type>",
        control.merge,
        name="crm-control-merge",
    ),
    path(
        "control/<int:portal_id>/objects/<str:object_type>/<int:object_id>",
        control.object_change,
        name="crm-control-object",
    ),
]
