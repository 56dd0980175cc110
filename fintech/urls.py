from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


admin.site.site_header = "Fintech back office"
admin.site.site_title = "Fintech back office"
admin.site.index_title = "Operator console"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api/", include("fintech.api.urls", namespace="api")),
    path("health/", health, name="health"),
]
