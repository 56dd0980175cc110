from django.urls import path

from integrations.observability.metrics import metrics_view

urlpatterns = [path("", metrics_view, name="metrics")]
