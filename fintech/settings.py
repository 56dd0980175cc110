"""Django settings. Every value comes from an environment variable (see README).

FINTECH_ENV=production requires real secrets and DATABASE_URL/REDIS_URL;
FINTECH_ENV=local (the default) generates secrets under .data/ and expects
`python -m fintech.devservices` (or the caller) to have set the URLs.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

from fintech.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_required,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("FINTECH_DATA_DIR", str(BASE_DIR / ".data")))

FINTECH_ENV = env_choice("FINTECH_ENV", "local", ("local", "test", "production"))
PRODUCTION = FINTECH_ENV == "production"


def _local_secrets() -> dict[str, str]:
    """Secrets for a developer machine, generated once and kept out of git."""
    path = DATA_DIR / "local-secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    generated = {
        "secret_key": secrets.token_urlsafe(50),
        "field_encryption_key": secrets.token_urlsafe(32),
    }
    path.write_text(json.dumps(generated))
    path.chmod(0o600)
    return generated


if PRODUCTION:
    SECRET_KEY = env_required("DJANGO_SECRET_KEY")
    _field_keys = env_list("FIELD_ENCRYPTION_KEYS", [])
    if not _field_keys:
        env_required("FIELD_ENCRYPTION_KEYS")
else:
    _local = _local_secrets()
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", _local["secret_key"])
    _field_keys = env_list("FIELD_ENCRYPTION_KEYS", [_local["field_encryption_key"]])
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured(
        "Environment variable DJANGO_SECRET_KEY must be at least 32 characters"
    )
# django-fernet-encrypted-fields derives Fernet keys from SECRET_KEY and these salts;
# the first one encrypts, all of them decrypt (rotation: prepend the new key).
SALT_KEY = _field_keys

DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])


def _database_from_url(name: str, url: str) -> dict[str, object]:
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"} or not parsed.path.strip("/"):
        raise ImproperlyConfigured(
            f"Environment variable {name}={url!r} is invalid: expected "
            "postgres://USER:PASSWORD@HOST:PORT/DBNAME"
        )
    try:
        port = parsed.port or 5432
    except ValueError as exc:
        raise ImproperlyConfigured(f"Environment variable {name} has an invalid port") from exc
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parsed.path.lstrip("/"),
        "USER": parsed.username or "",
        "PASSWORD": parsed.password or "",
        "HOST": parsed.hostname or "",
        "PORT": str(port),
        # Persistent connections: a new connection per request costs ~10x the
        # throughput of a simple endpoint.
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 600, minimum=0),
        "CONN_HEALTH_CHECKS": True,
        "ATOMIC_REQUESTS": False,
        # Server-side prepared statements for the API's hot reads (fintech.core.sql.fetch_one;
        # Django's own cursors bind client-side and never prepare): the token lookup's plan
        # alone cost more than its execution. Off behind a pooler in transaction mode.
        "OPTIONS": {
            "prepare_threshold": 5 if env_bool("DATABASE_PREPARED_STATEMENTS", True) else None
        },
        "TEST": {"NAME": env_str("DATABASE_TEST_NAME", "") or None},
    }


def _redis_url(name: str, url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in {"redis", "rediss"} or not parsed.hostname:
        raise ImproperlyConfigured(
            f"Environment variable {name}={url!r} is invalid: expected redis://HOST:PORT/DB"
        )
    return url


_database_url = env_str("DATABASE_URL", "")
if not _database_url:
    raise ImproperlyConfigured(
        "Environment variable DATABASE_URL is not set: run through `make run` / `make test` "
        "(which start embedded PostgreSQL and Redis) or set it to a PostgreSQL server"
    )
DATABASES = {"default": _database_from_url("DATABASE_URL", _database_url)}
REDIS_URL = _redis_url("REDIS_URL", env_str("REDIS_URL", "redis://127.0.0.1:6379/0"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as our own static files (no CDN)
    "django_celery_beat",
    "django_fsm",
    "pgtrigger",
    "pghistory",
    "fintech.core",
    "fintech.customers",
    "fintech.compliance",
    "fintech.beneficiaries",
    "fintech.quotes",
    "fintech.transfers",
    "ledger",
    "integrations",
    "fintech.api",
]

MIDDLEWARE = [
    # First: X-Request-Id on every response; /api/ body limit, 500 problem, request log.
    "fintech.api.middleware.ApiRequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, CSRF, the signed-in user, messages and frame headers: not under /api/ (bearer
    # tokens and JSON; see fintech/api/browser_middleware.py).
    "fintech.api.browser_middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "fintech.api.browser_middleware.BrowserCsrfViewMiddleware",
    "fintech.api.browser_middleware.BrowserAuthenticationMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    "fintech.api.browser_middleware.BrowserMessageMiddleware",
    "fintech.api.browser_middleware.BrowserXFrameOptionsMiddleware",
]
BROWSERLESS_PATH_PREFIXES: tuple[str, ...] = ("/api/",)

ROOT_URLCONF = "fintech.urls"
WSGI_APPLICATION = "fintech.wsgi.application"
ASGI_APPLICATION = "fintech.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
if not PRODUCTION:
    # whitenoise warns on every request while the folder is missing; collectstatic fills it.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = not PRODUCTION
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Celery: settings that prevent known failures (see shared/LIBRARIES.md).
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Above the longest task and any countdown, or Redis redelivers and a task runs twice.
# Long waits (webhook retries hours apart) are a `next_attempt_at` column scanned by beat,
# never a countdown; integrations.checks refuses a countdown above this.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=10)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# Publishing fails fast when Redis is down: the outbox row simply waits for the next relay.
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECTION_TIMEOUT", 3, minimum=1)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Integrations: outbox relay, webhooks, partner connectors (integrations/README.md).
# Our own server's base URL, given to partners (and the sandbox simulators) for callbacks.
FINTECH_BASE_URL = env_str("FINTECH_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
OUTBOX_RELAY_BATCH_SIZE = env_int("OUTBOX_RELAY_BATCH_SIZE", 200, minimum=1)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 15, minimum=1)
# Delays before attempts 2, 3, ... (seconds); jitter of up to +/-10% is added to each.
WEBHOOK_RETRY_SCHEDULE = [
    int(x)
    for x in env_list(
        "WEBHOOK_RETRY_SCHEDULE", ["5", "300", "1800", "7200", "18000", "36000", "36000"]
    )
]
# An endpoint that has failed every delivery for this long is disabled.
WEBHOOK_DISABLE_AFTER_DAYS = env_int("WEBHOOK_DISABLE_AFTER_DAYS", 5, minimum=1)
# A delivery claimed by a worker that died is taken over after this lease.
WEBHOOK_DELIVERY_LEASE_SECONDS = env_int("WEBHOOK_DELIVERY_LEASE_SECONDS", 120, minimum=2)
# SSRF: in production, subscriber URLs must resolve to public addresses only.
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", not PRODUCTION)
WEBHOOK_PREVIOUS_SECRET_HOURS = env_int("WEBHOOK_PREVIOUS_SECRET_HOURS", 24, minimum=0)
INBOUND_WEBHOOK_TOLERANCE_SECONDS = env_int("INBOUND_WEBHOOK_TOLERANCE_SECONDS", 300, minimum=1)
INBOUND_WEBHOOK_MAX_BYTES = env_int("INBOUND_WEBHOOK_MAX_BYTES", 256 * 1024, minimum=1024)
# Which partner connectors consume our events: "sandbox" (the simulators served by this
# project under /sandbox/) or "none" (the default in production).
_default_connector = "none" if PRODUCTION else "sandbox"
PAYOUT_CONNECTOR = env_choice("PAYOUT_CONNECTOR", _default_connector, ("sandbox", "none"))
KYC_CONNECTOR = env_choice("KYC_CONNECTOR", _default_connector, ("sandbox", "none"))


def _derived_secret(purpose: str) -> str:
    """A stable local-mode secret per purpose, derived from SECRET_KEY (never in production)."""
    import hashlib

    return hashlib.sha256(f"{SECRET_KEY}:{purpose}".encode()).hexdigest()


def _partner_secret(name: str, purpose: str, *, enabled: bool) -> str:
    if PRODUCTION:
        # Empty when the connector is off: the inbound endpoint then refuses every message.
        return env_required(name) if enabled else env_str(name, "")
    return env_str(name, _derived_secret(purpose))


# The payout partner sandbox: its API key (we call it), its webhook signing secret (it calls us).
PAYOUT_SANDBOX_BASE_URL = env_str(
    "PAYOUT_SANDBOX_BASE_URL", f"{FINTECH_BASE_URL}/sandbox/payout-partner"
).rstrip("/")
PAYOUT_SANDBOX_API_KEY = _partner_secret(
    "PAYOUT_SANDBOX_API_KEY", "payout-sandbox-api", enabled=PAYOUT_CONNECTOR == "sandbox"
)
PAYOUT_SANDBOX_WEBHOOK_SECRET = _partner_secret(
    "PAYOUT_SANDBOX_WEBHOOK_SECRET", "payout-sandbox-webhook", enabled=PAYOUT_CONNECTOR == "sandbox"
)
PAYOUT_SANDBOX_TIMEOUT_SECONDS = env_int("PAYOUT_SANDBOX_TIMEOUT_SECONDS", 10, minimum=1)
# The simulator's behaviour: seconds between status changes, and the share that fail (0-100).
PAYOUT_SANDBOX_LATENCY_SECONDS = env_int("PAYOUT_SANDBOX_LATENCY_SECONDS", 2, minimum=0)
PAYOUT_SANDBOX_FAILURE_PERCENT = env_int("PAYOUT_SANDBOX_FAILURE_PERCENT", 0, minimum=0)
KYC_SANDBOX_BASE_URL = env_str(
    "KYC_SANDBOX_BASE_URL", f"{FINTECH_BASE_URL}/sandbox/kyc-provider"
).rstrip("/")
KYC_SANDBOX_API_KEY = _partner_secret(
    "KYC_SANDBOX_API_KEY", "kyc-sandbox-api", enabled=KYC_CONNECTOR == "sandbox"
)
KYC_SANDBOX_WEBHOOK_SECRET = _partner_secret(
    "KYC_SANDBOX_WEBHOOK_SECRET", "kyc-sandbox-webhook", enabled=KYC_CONNECTOR == "sandbox"
)
KYC_SANDBOX_TIMEOUT_SECONDS = env_int("KYC_SANDBOX_TIMEOUT_SECONDS", 10, minimum=1)
KYC_SANDBOX_LATENCY_SECONDS = env_int("KYC_SANDBOX_LATENCY_SECONDS", 2, minimum=0)
# The share of checks that come back "consider" (a human must look) rather than "clear".
KYC_SANDBOX_CONSIDER_PERCENT = env_int("KYC_SANDBOX_CONSIDER_PERCENT", 0, minimum=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oauth2_provider.contrib.rest_framework.OAuth2Authentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Every error as RFC 9457 problem+json (fintech/api/exceptions.py).
    "EXCEPTION_HANDLER": "fintech.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "fintech.api.schema.ApiAutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# OAuth 2.0 (django-oauth-toolkit): client credentials and authorization code + PKCE (S256).
# DOT's own Application model (not swapped); named so migrations can depend on it.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    # An application obtains only the scopes granted on its ApiClient (fintech/api/oauth.py).
    "SCOPES_BACKEND_CLASS": "fintech.api.oauth.ApiClientScopes",
    "OAUTH2_VALIDATOR_CLASS": "fintech.api.oauth.ApiOAuth2Validator",
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH_ACCESS_TOKEN_SECONDS", 3600, minimum=60),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int(
        "OAUTH_REFRESH_TOKEN_SECONDS", 30 * 24 * 3600, minimum=3600
    ),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    # A refresh token used twice revokes its whole family (a stolen token is detected).
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "CLIENT_SECRET_HASHER": "default",
    # RFC 9700: S256 only, no implicit or password grant, no token in the URL, and access
    # and refresh tokens stored only as checksums.
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if PRODUCTION else ["http", "https"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": [
        "authorization_code",
        "client_credentials",
        "refresh_token",
    ],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Fintech API",
    "DESCRIPTION": (
        "API v1 for business customers. OAuth 2.0 (client credentials, or authorization code "
        "with PKCE S256) at /o/token/; errors are RFC 9457 problem+json with a stable `code`; "
        "POSTs that create something or move money need an Idempotency-Key header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "OAUTH2_FLOWS": ["clientCredentials", "authorizationCode"],
    "OAUTH2_AUTHORIZATION_URL": "/o/authorize/",
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_REFRESH_URL": "/o/token/",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    # The interactive docs (/api/v1/docs/, /api/v1/redoc/) from drf-spectacular-sidecar's
    # static files, served by whitenoise like the admin's; "bearer" lets a reader paste a token.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "displayOperationId": True},
    "APPEND_COMPONENTS": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
}

# API v1 (fintech/api/).
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 600, minimum=1)
# Idempotency keys are kept at least 24 hours (IETF draft, Stripe), then purged.
API_IDEMPOTENCY_TTL_HOURS = env_int("API_IDEMPOTENCY_TTL_HOURS", 24, minimum=24)
API_REQUEST_LOG_RETENTION_DAYS = env_int("API_REQUEST_LOG_RETENTION_DAYS", 30, minimum=1)
# Rows the request log may queue in Redis while no worker drains it (then the oldest go).
API_REQUEST_LOG_QUEUE_MAX = env_int("API_REQUEST_LOG_QUEUE_MAX", 500_000, minimum=1000)
# Input limits of every request body parser (fintech/core/safe_input.py): bytes of a body
# (file uploads aside; a larger one is a 413) and nesting levels of a JSON document.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REQUEST_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
API_MAX_JSON_DEPTH = env_int("API_MAX_JSON_DEPTH", 32, minimum=2)

# Rates for quotes: a dotted path to a fintech.quotes.rates.RateProvider.
RATE_PROVIDER = env_str("RATE_PROVIDER", "fintech.quotes.rates.SandboxRateProvider")
QUOTE_TTL_SECONDS = env_int("QUOTE_TTL_SECONDS", 30 * 60, minimum=1)

DJANGO_FSM_LOG_IGNORED_MODELS: list[str] = []
