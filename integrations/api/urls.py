"""/api/v1/webhooks...: mounted by fintech/urls.py before the API's own catch-all."""

from django.urls import path

from integrations.api import views

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
