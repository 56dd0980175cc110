from django.urls import path

from integrations.inbound.views import inbound_webhook

app_name = "inbound"

urlpatterns = [
    path("<slug:provider>/", inbound_webhook, name="receive"),
]
