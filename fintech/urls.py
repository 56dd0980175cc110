from django.contrib import admin
from django.urls import include, path

from fintech.core.health import health_live, health_ready

admin.site.site_header = "Fintech back office"
admin.site.site_title = "Fintech back office"
admin.site.index_title = "Operator console"

# A transient database error raised outside a view is a 503 with Retry-After, not a 500.
handler500 = "fintech.api.middleware.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    # Ahead of DOT's: introspection of one's own tokens only, and the members' login page.
    path("", include("fintech.api.auth_urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    # Webhook subscriptions (integrations) under /api/v1/webhooks, before the API's catch-all.
    path("api/v1/", include("integrations.api.urls")),
    path("api/", include("fintech.api.urls", namespace="api")),
    # Inbound partner webhooks and the partners' sandbox simulators (integrations).
    path("webhooks/", include("integrations.inbound.urls")),
    path("sandbox/", include("integrations.simulators.urls")),
    # The browser's return from an accounting provider's consent page (integrations/sync).
    path("integrations/oauth/", include("integrations.sync.urls")),
    # Liveness (the process answers) and readiness (database, Redis, migrations, a Celery
    # worker, beat's tick): fintech/core/health.py. `/health/` stays liveness: the fault tests
    # and load balancers probe it while workers may still be starting.
    path("health/", health_live, name="health"),
    path("health/live", health_live, name="health-live"),
    path("health/ready", health_ready, name="health-ready"),
    # Prometheus counters and gauges (integrations/README.md), staff or METRICS_TOKEN only.
    path("metrics", include("integrations.observability.urls")),
]
