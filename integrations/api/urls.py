"""/api/v1/webhooks... and /api/v1/accounting...: mounted by fintech/urls.py before the API's
own catch-all."""

from django.urls import path

from integrations.api import accounting, views

app_name = "webhooks_api"

urlpatterns = [
    path("webhooks", views.WebhookEndpointListCreateApi.as_view(), name="endpoints"),
    path("webhooks/<str:endpoint_id>", views.WebhookEndpointDetailApi.as_view(), name="endpoint"),
    path(
        "webhooks/<str:endpoint_id>/rotate-secret",
        views.WebhookEndpointRotateSecretApi.as_view(),
        name="endpoint-rotate-secret",
    ),
    path(
        "webhooks/<str:endpoint_id>/test",
        views.WebhookEndpointTestApi.as_view(),
        name="endpoint-test",
    ),
    path(
        "webhooks/<str:endpoint_id>/deliveries",
        views.WebhookDeliveryListApi.as_view(),
        name="endpoint-deliveries",
    ),
]

# Accounting connections and sync status (`accounting:sync`, integrations/api/accounting.py).
urlpatterns += [
    path(
        "accounting/connections",
        accounting.AccountingConnectionListCreateApi.as_view(),
        name="accounting-connections",
    ),
    path(
        "accounting/connections/<str:connection_id>",
        accounting.AccountingConnectionDetailApi.as_view(),
        name="accounting-connection",
    ),
    path(
        "accounting/connections/<str:connection_id>/tenant",
        accounting.AccountingConnectionTenantApi.as_view(),
        name="accounting-connection-tenant",
    ),
    path(
        "accounting/sync-status",
        accounting.AccountingSyncStatusApi.as_view(),
        name="accounting-sync-status",
    ),
]
