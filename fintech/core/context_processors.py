"""Template context every page gets."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

# What the banner says and its colour: production is red so nobody mistakes it for a sandbox.
_BANNERS = {
    "production": ("Production", "#ba2121"),
    "test": ("Test", "#b36b00"),
    "local": ("Local", "#2e7d32"),
}


def environment(request: HttpRequest) -> dict[str, object]:
    """The environment this process runs as (FINTECH_ENV: local, test or production), for the
    banner on every admin page (templates/admin/base_site.html)."""
    name = settings.FINTECH_ENV
    label, colour = _BANNERS.get(name, (name.title(), "#555"))
    return {"fintech_environment": {"name": name, "label": label, "colour": colour}}
