"""`/metrics`: the counters every process adds to in Redis (fintech/core/metrics.py) and the
database gauges (selectors.py), in Prometheus' text format, read at each scrape.

Protected: a bearer token equal to METRICS_TOKEN (for Prometheus), or a signed-in staff user
allowed the integration health page. No credentials at all: 404 (the endpoint is not
advertised); wrong ones: 403.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from fintech.core.metrics import COUNTERS, HISTOGRAMS, metric_parse, metrics_snapshot
from integrations.observability.selectors import integration_gauges

PREFIX = "fintech_"
VIEW_PERMISSION = "integrations.view_integrationhealth"


Samples = list[tuple[dict[str, str], int]]
_HISTOGRAM_PARTS = ("_bucket", "_count", "_sum_us")


def _histogram_of(name: str) -> tuple[str, str] | None:
    """(histogram, part) if `name` is a part of one of HISTOGRAMS."""
    for part in _HISTOGRAM_PARTS:
        base = name.removesuffix(part)
        if base != name and base in HISTOGRAMS:
            return base, part
    return None


def counters_by_name(
    snapshot: dict[str, int] | None = None,
) -> dict[str, Samples]:
    """The Redis counters grouped by name: [(labels, value)], known names always present
    (histograms' parts aside: histograms_by_name)."""
    grouped: dict[str, Samples] = {name: [] for name in COUNTERS}
    for field, value in sorted((metrics_snapshot() if snapshot is None else snapshot).items()):
        name, labels = metric_parse(field)
        if _histogram_of(name) is None:
            grouped.setdefault(name, []).append((labels, value))
    return grouped


def histograms_by_name(snapshot: dict[str, int]) -> Iterator[HistogramMetricFamily]:
    """Each of HISTOGRAMS as Prometheus wants it: per label set, cumulative buckets up to
    +Inf, the count and the sum in seconds."""
    series: dict[str, dict[tuple[tuple[str, str], ...], dict[str, Any]]] = {
        name: {} for name in HISTOGRAMS
    }
    for field, value in snapshot.items():
        name, labels = metric_parse(field)
        found = _histogram_of(name)
        if found is None:
            continue
        base, part = found
        le = labels.pop("le", "")
        one = series[base].setdefault(
            tuple(sorted(labels.items())), {"buckets": {}, "count": 0, "sum_us": 0}
        )
        if part == "_bucket":
            one["buckets"][le] = one["buckets"].get(le, 0) + value
        elif part == "_count":
            one["count"] += value
        else:
            one["sum_us"] += value
    for name, (help_text, bounds) in HISTOGRAMS.items():
        label_names = sorted({key for label_set in series[name] for key, _ in label_set})
        family = HistogramMetricFamily(f"{PREFIX}{name}", help_text, labels=label_names)
        for label_set, one in sorted(series[name].items()):
            values = dict(label_set)
            running, buckets = 0, []
            for le in [*(repr(b) for b in bounds), "+Inf"]:
                running += one["buckets"].get(le, 0)
                buckets.append((le, running))
            family.add_metric(
                [values.get(key, "") for key in label_names],
                buckets,
                sum_value=one["sum_us"] / 1_000_000,
            )
        yield family


class IntegrationsCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        snapshot = metrics_snapshot()
        yield from histograms_by_name(snapshot)
        for name, samples in counters_by_name(snapshot).items():
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
    # The admin site's own test: with STAFF_2FA_REQUIRED, a session that passed the password
    # but not the second factor opens no staff page, this one included.
    return bool(admin.site.has_permission(request) and user.has_perm(VIEW_PERMISSION))


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IntegrationsCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
