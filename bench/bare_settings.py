"""Settings for bench.api_create_transfer's gunicorn: the production settings unchanged, with
`bench.bare_urls` (production routes plus one bare endpoint) as the URLconf. Never deployed."""

from fintech.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_urls"
