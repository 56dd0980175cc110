"""`{% operator_dashboard %}`: the dashboard's panels on the admin's index page
(templates/admin/index.html). A template tag, so the admin site (fintech.core, which never
imports integrations) needs no code of ours: the template names the tag, the tag the selectors."""

from __future__ import annotations

from typing import Any

from django import template

from integrations.observability.dashboard import CHART_DAYS, DEFAULT_CHART_DAYS, operator_dashboard

register = template.Library()


@register.inclusion_tag("admin/dashboard/panels.html", takes_context=True)
def operator_dashboard_panels(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    asked = request.GET.get("days", "")
    days = int(asked) if asked in {str(d) for d in CHART_DAYS} else DEFAULT_CHART_DAYS
    return {
        "board": operator_dashboard(user=request.user, days=days),
        "chart_days": CHART_DAYS,
    }
