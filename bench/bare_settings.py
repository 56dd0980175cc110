"""Settings for bench.api_create_transfer's gunicorn: the production settings unchanged, with
`bench.bare_urls` (production routes plus one bare endpoint) as the URLconf. Never deployed."""

from fintech.settings import *  # noqa: F403
from fintech.settings import BROWSERLESS_PATH_PREFIXES

ROOT_URLCONF = "bench.bare_urls"
# The bare endpoint skips the browser middleware exactly as the API does: the comparison is
# of what each endpoint does, not of which middleware it pays for.
BROWSERLESS_PATH_PREFIXES = (*BROWSERLESS_PATH_PREFIXES, "/bench/")
