"""The Xero sandbox's routes, under /sandbox/xero/ (included by simulators/urls.py)."""

from django.urls import path

from integrations.simulators.xero import api, control, identity

ACCOUNTING = "api.xro/2.0/"

urlpatterns = [
    path("identity/connect/authorize", identity.authorize, name="xero-authorize"),
    path("identity/connect/token", identity.token, name="xero-token"),
    path("identity/connect/revocation", identity.revocation, name="xero-revocation"),
    path("connections", identity.connections, name="xero-connections"),
    path(
        "connections/<uuid:connection_id>",
        identity.connection_delete,
        name="xero-connection-delete",
    ),
    path(f"{ACCOUNTING}Organisation", api.organisation, name="xero-organisation"),
    path(f"{ACCOUNTING}Currencies", api.currencies, name="xero-currencies"),
    path(
        f"{ACCOUNTING}CreditNotes/<str:object_id>/Allocations",
        api.allocations,
        name="xero-allocations",
    ),
    path(f"{ACCOUNTING}<str:resource>", api.collection, name="xero-collection"),
    path(f"{ACCOUNTING}<str:resource>/<str:object_id>", api.item, name="xero-item"),
    path("control/orgs", control.org_new, name="xero-control-orgs"),
    path("control/<uuid:tenant_id>", control.org_settings, name="xero-control"),
    path(
        "control/<uuid:tenant_id>/intent-to-receive",
        control.intent_to_receive,
        name="xero-control-intent",
    ),
    path(
        "control/<uuid:tenant_id>/objects/<str:kind>/<str:object_id>",
        control.object_change,
        name="xero-control-object",
    ),
]
