"""`/metrics`: the counters every process adds to in Redis (fintech/core/metrics.py) and the
database gauges (selectors.py), in Prometheus' text format, read at each scrape.

Protected: a bearer token equal to METRICS_TOKEN (for Prometheus), or a signed-in staff user
allowed the integration health page. No credentials at all: 404 (the endpoint is not
advertised); wrong ones: 403.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fintech.core.metrics import COUNTERS, metric_parse, metrics_snapshot
from integrations.observability.selectors import integration_gauges

PREFIX = "fintech_"
VIEW_PERMISSION = "integrations.view_integrationhealth"


def counters_by_name() -> dict[str, list[tuple[dict[str, str], int]]]:
    """The Redis counters grouped by name: [(labels, value)], known names always present."""
    grouped: dict[str, list[tuple[dict[str, str], int]]] = {name: [] for name in COUNTERS}
    for field, value in sorted(metrics_snapshot().items()):
        name, labels = metric_parse(field)
        grouped.setdefault(name, []).append((labels, value))
    return grouped


class IntegrationsCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        for name, samples in counters_by_name().items():
            label_names = sorted({key for labels, _ in samples for key in labels})
            family = CounterMetricFamily(
                f"{PREFIX}{name}", COUNTERS.get(name, name), labels=label_names
            )
            if not samples and not label_names:
                family.add_metric([], 0)
            for labels, value in samples:
                family.add_metric([labels.get(key, "") for key in label_names], value)
            yield family
        # Gauges of one name (per connection, say) are one family with their labels.
        families: dict[str, GaugeMetricFamily] = {}
        for gauge in integration_gauges():
            if not gauge.labels:
                yield GaugeMetricFamily(f"{PREFIX}{gauge.name}", gauge.help, value=gauge.value)
                continue
            keys = sorted(gauge.labels)
            gauge_family = families.get(gauge.name)
            if gauge_family is None:
                gauge_family = families[gauge.name] = GaugeMetricFamily(
                    f"{PREFIX}{gauge.name}", gauge.help, labels=keys
                )
            gauge_family.add_metric([gauge.labels[key] for key in keys], gauge.value)
        yield from families.values()


def _allowed(request: HttpRequest) -> bool:
    """True if allowed; raises Http404 for no credentials at all, False for wrong ones."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = settings.METRICS_TOKEN
        return bool(token) and hmac.compare_digest(header[7:].encode(), token.encode())
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise Http404
    return bool(user.is_staff and user.has_perm(VIEW_PERMISSION))


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IntegrationsCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
