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

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from fintech.core.logs import default_log_format, logging_config
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
    # Django's admin with the staff second factor (fintech/core/admin_site.py).
    "fintech.core.admin_apps.StaffAdminConfig",
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
    # request.user.is_verified(): this session passed a second factor (django-otp).
    "django_otp.middleware.OTPMiddleware",
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
                # The environment banner on every admin page (templates/admin/base_site.html).
                "fintech.core.context_processors.environment",
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
# Sessions end after SESSION_IDLE_MINUTES without a request: every request pushes the expiry
# forward (one session write per browser request; the API under /api/ has no session). A
# password change ends every other session at once (Django's session auth hash).
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Logs (fintech/core/logs.py): structlog over the standard library; JSON lines in production,
# readable lines locally; every line carries the request id and has secrets redacted.
LOG_FORMAT = env_choice("LOG_FORMAT", default_log_format(FINTECH_ENV), ("json", "console"))
LOGGING = logging_config(log_format=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"))

# Celery: settings that prevent known failures (see shared/LIBRARIES.md).
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Above the longest task, or Redis redelivers a message while its task still runs. No task
# waits in Redis: every delayed action (webhook retries, partner retries, the simulators'
# steps) is a due-time column scanned by beat, never a countdown, and a killed worker's row is
# picked up by the scanner after its claim lease, not after this timeout.
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
# The worker's watchdog (fintech/core/worker_watchdog.py): a consumer that has taken no message
# for this long while its queues hold some is made to reconnect, then ended for its supervisor
# to restart. 0 turns it off.
WORKER_STALL_SECONDS = env_int("WORKER_STALL_SECONDS", 60, minimum=0)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Integrations: outbox relay, webhooks, partner connectors (integrations/README.md).
# Our own server's base URL, given to partners (and the sandbox simulators) for callbacks.
# By default where `make run` serves (its PORT), so the sandboxes' callbacks find it.
FINTECH_BASE_URL = env_str("FINTECH_BASE_URL", f"http://127.0.0.1:{env_int('PORT', 8000)}").rstrip(
    "/"
)
# A bearer token Prometheus sends to scrape /metrics (empty: staff sessions only).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Readiness (/health/ready, `manage.py health`; fintech/core/health.py): how long to wait for
# a Celery worker's answer to a ping, and how old beat's last tick (the scan_due run, every
# 5 s) may be before the platform is not ready.
HEALTH_WORKER_PING_TIMEOUT_MS = env_int("HEALTH_WORKER_PING_TIMEOUT_MS", 1000, minimum=50)
HEALTH_BEAT_MAX_AGE_SECONDS = env_int("HEALTH_BEAT_MAX_AGE_SECONDS", 60, minimum=5)
OUTBOX_RELAY_BATCH_SIZE = env_int("OUTBOX_RELAY_BATCH_SIZE", 200, minimum=1)
# An event handed to the broker but not fanned out within this lease (the message was lost,
# the worker died, the dispatch failed) is handed out again; the lease doubles per attempt.
OUTBOX_DISPATCH_LEASE_SECONDS = env_int("OUTBOX_DISPATCH_LEASE_SECONDS", 30, minimum=1)
# Handed out this many times without fanning out: parked as `dead` for an operator.
OUTBOX_DISPATCH_MAX_ATTEMPTS = env_int("OUTBOX_DISPATCH_MAX_ATTEMPTS", 8, minimum=1)
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
# A delivery claimed by a worker that died is taken over after this lease (and the scanner's
# next tick): above WEBHOOK_TIMEOUT_SECONDS plus the time to record the attempt.
WEBHOOK_DELIVERY_LEASE_SECONDS = env_int("WEBHOOK_DELIVERY_LEASE_SECONDS", 45, minimum=2)
# SSRF: in production, subscriber URLs must resolve to public addresses only.
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", not PRODUCTION)
WEBHOOK_PREVIOUS_SECRET_HOURS = env_int("WEBHOOK_PREVIOUS_SECRET_HOURS", 24, minimum=0)
INBOUND_WEBHOOK_TOLERANCE_SECONDS = env_int("INBOUND_WEBHOOK_TOLERANCE_SECONDS", 300, minimum=1)
INBOUND_WEBHOOK_MAX_BYTES = env_int("INBOUND_WEBHOOK_MAX_BYTES", 256 * 1024, minimum=1024)
# Retention (0: kept forever), purged by beat (`integrations.retention_purge`) in batches of
# RETENTION_BATCH_SIZE rows, at most RETENTION_MAX_BATCHES per run and table. Only finished
# rows go: never a delivery still pending, a message not yet processed, or a row parked as
# an open dead letter.
RETENTION_WEBHOOK_DELIVERIES_DAYS = env_int("RETENTION_WEBHOOK_DELIVERIES_DAYS", 90, minimum=0)
RETENTION_INBOUND_WEBHOOKS_DAYS = env_int("RETENTION_INBOUND_WEBHOOKS_DAYS", 90, minimum=0)
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 1000, minimum=1)
RETENTION_MAX_BATCHES = env_int("RETENTION_MAX_BATCHES", 100, minimum=1)
# Tries of one inbound message (transient errors, workers dying on it) before it is failed and
# parked as a dead letter.
INBOUND_WEBHOOK_MAX_ATTEMPTS = env_int("INBOUND_WEBHOOK_MAX_ATTEMPTS", 10, minimum=1)
# Which partner connectors consume our events: "sandbox" (the simulators served by this
# project under /sandbox/) or "none" (the default in production).
_default_connector = "none" if PRODUCTION else "sandbox"
PAYOUT_CONNECTOR = env_choice("PAYOUT_CONNECTOR", _default_connector, ("sandbox", "none"))
KYC_CONNECTOR = env_choice("KYC_CONNECTOR", _default_connector, ("sandbox", "none"))
# The integrations packages whose `register()` fills the event-handler and scan registries
# (integrations/registry.py), in this order: the core fan-out, then each connector, then the
# sandbox simulators. A new connector is one more entry here.
INTEGRATIONS_PACKAGES = [
    "integrations.webhooks",
    "integrations.inbound",
    "integrations.connectors.payout.sandbox",
    "integrations.connectors.kyc.sandbox",
    "integrations.sync",
    "integrations.connectors.accounting.xero",
    "integrations.connectors.accounting.quickbooks",
    "integrations.simulators",
]


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
# The Xero sandbox (integrations/simulators/xero, docs/xero-sandbox.md): Xero's identity
# server, Accounting API and webhooks, served under /sandbox/xero/. Its OAuth client, the key
# it signs webhooks with, where it sends them, token lifetime and per-tenant limits.
XERO_SANDBOX_BASE_URL = env_str("XERO_SANDBOX_BASE_URL", f"{FINTECH_BASE_URL}/sandbox/xero").rstrip(
    "/"
)
XERO_SANDBOX_CLIENT_ID = env_str("XERO_SANDBOX_CLIENT_ID", "" if PRODUCTION else "xero-sandbox-app")
XERO_SANDBOX_CLIENT_SECRET = _partner_secret(
    "XERO_SANDBOX_CLIENT_SECRET", "xero-sandbox-client", enabled=False
)
XERO_SANDBOX_WEBHOOK_URL = env_str("XERO_SANDBOX_WEBHOOK_URL", f"{FINTECH_BASE_URL}/webhooks/xero/")
XERO_SANDBOX_ACCESS_TOKEN_SECONDS = env_int("XERO_SANDBOX_ACCESS_TOKEN_SECONDS", 1800, minimum=1)
# Xero's limits per tenant (a tenant's own settings, over the control endpoint, win).
XERO_SANDBOX_RATE_PER_MINUTE = env_int("XERO_SANDBOX_RATE_PER_MINUTE", 60, minimum=1)
XERO_SANDBOX_RATE_PER_DAY = env_int("XERO_SANDBOX_RATE_PER_DAY", 5000, minimum=1)
XERO_SANDBOX_CONCURRENT_LIMIT = env_int("XERO_SANDBOX_CONCURRENT_LIMIT", 5, minimum=1)

# The sync engine (integrations/sync/): accounting, ERP and CRM connectors' jobs.
# A job's claim: above the longest job (a look-up and a write, each XERO_TIMEOUT_SECONDS).
SYNC_JOB_LEASE_SECONDS = env_int("SYNC_JOB_LEASE_SECONDS", 90, minimum=5)
SYNC_MAX_ATTEMPTS = env_int("SYNC_MAX_ATTEMPTS", 10, minimum=1)
# Xero (integrations/connectors/accounting/xero/). Locally: the sandbox this project serves
# under /sandbox/xero/. In production set the real endpoints and the app's credentials.
XERO_CONNECTOR = env_choice("XERO_CONNECTOR", _default_connector, ("sandbox", "live", "none"))
_xero_sandbox = XERO_SANDBOX_BASE_URL
XERO_AUTHORIZE_URL = env_str("XERO_AUTHORIZE_URL", f"{_xero_sandbox}/identity/connect/authorize")
XERO_TOKEN_URL = env_str("XERO_TOKEN_URL", f"{_xero_sandbox}/identity/connect/token")
XERO_REVOKE_URL = env_str("XERO_REVOKE_URL", f"{_xero_sandbox}/identity/connect/revocation")
XERO_CONNECTIONS_URL = env_str("XERO_CONNECTIONS_URL", f"{_xero_sandbox}/connections")
XERO_API_URL = env_str("XERO_API_URL", f"{_xero_sandbox}/api.xro/2.0").rstrip("/")
# The app's credentials: the sandbox's own app locally; required for the live Xero.
_xero_live = XERO_CONNECTOR == "live"
XERO_CLIENT_ID = (
    env_required("XERO_CLIENT_ID")
    if _xero_live
    else env_str("XERO_CLIENT_ID", XERO_SANDBOX_CLIENT_ID)
)
XERO_CLIENT_SECRET = (
    env_required("XERO_CLIENT_SECRET")
    if _xero_live
    else env_str("XERO_CLIENT_SECRET", XERO_SANDBOX_CLIENT_SECRET)
)
# The key Xero signs its webhooks with (the sandbox signs with the same one locally).
XERO_WEBHOOK_KEY = _partner_secret("XERO_WEBHOOK_KEY", "xero-webhook-key", enabled=_xero_live)
# QuickBooks Online's webhook verifier token (integrations/connectors/accounting/quickbooks).
QUICKBOOKS_WEBHOOK_VERIFIER = _partner_secret(
    "QUICKBOOKS_WEBHOOK_VERIFIER", "quickbooks-webhook-verifier", enabled=False
)
XERO_SCOPES = env_str(
    "XERO_SCOPES",
    "offline_access accounting.transactions accounting.contacts accounting.settings.read",
)
# How a customer's books name us (the contact of our fees there).
PLATFORM_NAME = env_str("PLATFORM_NAME", "Fintech Back Office")
XERO_TIMEOUT_SECONDS = env_int("XERO_TIMEOUT_SECONDS", 20, minimum=1)
# `make run` connects the platform's own books to the Xero sandbox (demo only).
XERO_SANDBOX_AUTOCONNECT = env_bool("XERO_SANDBOX_AUTOCONNECT", False)
# Xero's limits per organisation: 60 calls a minute, 5,000 a day, 5 at once.
SYNC_PROVIDER_LIMITS = {
    "xero": {
        "calls_per_minute": env_int("XERO_CALLS_PER_MINUTE", 60, minimum=1),
        "calls_per_day": env_int("XERO_CALLS_PER_DAY", 5000, minimum=1),
        "max_concurrent": env_int("XERO_MAX_CONCURRENT", 5, minimum=1),
    },
}

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
    # One name for the currency enum that quotes, transfers and balances share (otherwise
    # drf_spectacular.W001 in `check --deploy`: SourceCurrencyEnum, TargetCurrencyEnum, ...).
    "ENUM_NAME_OVERRIDES": {
        "CurrencyEnum": "fintech.core.money.SUPPORTED_CURRENCIES",
        # Two state machines in the API: each its own named enum.
        "TransferStateEnum": "fintech.transfers.models.Transfer.State",
        "PaymentRequestStateEnum": "fintech.payments.models.PaymentRequest.State",
        "DisputeStateEnum": "fintech.disputes.models.Dispute.State",
    },
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
# Days the API request log is kept (0: forever); purged by beat in batches.
# The audit trail's CSV export (Admin > Audit events > Export CSV; fintech/core/audit_export.py)
# refuses a time range wider than this many days: export a longer period in parts.
AUDIT_EXPORT_MAX_DAYS = env_int("AUDIT_EXPORT_MAX_DAYS", 31, minimum=1)
API_REQUEST_LOG_RETENTION_DAYS = env_int("API_REQUEST_LOG_RETENTION_DAYS", 30, minimum=0)
# Rows the request log may queue in Redis while no worker drains it (then the oldest go).
API_REQUEST_LOG_QUEUE_MAX = env_int("API_REQUEST_LOG_QUEUE_MAX", 500_000, minimum=1000)
# Input limits of every request body parser (fintech/core/safe_input.py): bytes of a body
# (file uploads aside; a larger one is a 413) and nesting levels of a JSON document.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REQUEST_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
API_MAX_JSON_DEPTH = env_int("API_MAX_JSON_DEPTH", 32, minimum=2)
# A pain.001 file sent as raw XML (POST /api/v1/payment-request-batches/files with
# Content-Type: application/xml): its own bound, as ERPs send thousands of payments in one
# (10,000 payments are about 7 MiB).
PAYMENT_FILE_MAX_BYTES = env_int("PAYMENT_FILE_MAX_BYTES", 32 * 1024 * 1024, minimum=1024)
# Its payments are taken in chunks of this many, each committed with the file's cursor
# (fintech/payments/services/intake.py); a file of at most one chunk is taken inside the
# upload itself, a larger one in the background (the scan `payment_file_intake`), the upload
# answering 202 with the progress. A background run yields after PAYMENT_FILE_RUN_SECONDS
# (its next run is due at once), a chunk's time below CELERY_TASK_TIME_LIMIT (300 s); a run
# killed by that limit anyway loses only its chunk in progress (the next run redoes it).
PAYMENT_FILE_CHUNK_PAYMENTS = env_int("PAYMENT_FILE_CHUNK_PAYMENTS", 500, minimum=1)
PAYMENT_FILE_RUN_SECONDS = env_int("PAYMENT_FILE_RUN_SECONDS", 120, minimum=1)

# Rates for quotes: a dotted path to a fintech.quotes.rates.RateProvider.
RATE_PROVIDER = env_str("RATE_PROVIDER", "fintech.quotes.rates.SandboxRateProvider")
QUOTE_TTL_SECONDS = env_int("QUOTE_TTL_SECONDS", 30 * 60, minimum=1)

DJANGO_FSM_LOG_IGNORED_MODELS: list[str] = []

# --- security: login lockout, token endpoint throttle, HTTPS and response headers ------------
# (issue 11; README "Security"). Limits and switches come from the environment.
INSTALLED_APPS += ["axes"]
# After WhiteNoise (static files need no policy); before the views, which may use its nonce.
MIDDLEWARE.insert(
    MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1,
    "fintech.core.security.ContentSecurityPolicyMiddleware",
)
# Last: answers a locked-out login attempt (after the authentication middleware has run).
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]

# Proxies in front that append to X-Forwarded-For (0: the socket's address is the client's).
# Used for the lockout and the token throttle's per-address counts (fintech.core.security).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# Login lockout (django-axes) for the admin and the members' login in front of OAuth consent:
# after LOGIN_FAILURE_LIMIT failures from one address, or for one username, further attempts
# (even with the right password) are refused with a 429 for LOGIN_LOCKOUT_MINUTES. Each
# lockout is an AuditEvent ("login.locked_out"); attempts and lockouts are in the admin, where
# deleting an attempt lifts its lockout.
AUTHENTICATION_BACKENDS = [
    "fintech.core.security.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 30, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
# Failures only expire (after the lockout time), never reset by a success: a success would
# clear every attempt from its address, so anyone with an account of their own could reset
# the count of their guesses at someone else's between tries.
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "fintech.core.security.client_ip"
AXES_HTTP_RESPONSE_CODE = 429
AXES_SENSITIVE_PARAMETERS = ["password", "client_secret", "code_verifier"]

# Staff second factor (django-otp; fintech/core/admin_site.py, docs/operations.md): when
# STAFF_2FA_REQUIRED (production's default), the admin opens only to a session that also passed
# a TOTP code or a one-time recovery code; staff without a device enrol on first login. Off by
# default in local and test so the demo and the tests' force_login keep working.
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
STAFF_2FA_REQUIRED = env_bool("STAFF_2FA_REQUIRED", PRODUCTION)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Fintech back office")
STAFF_RECOVERY_CODE_COUNT = 10

# /o/token/: failed requests (a wrong client secret, code or refresh token) are counted per
# client id and per address in a fixed window; past either limit, every request from that
# client id or address is a 429 with Retry-After until the window ends (fintech.api.views.oauth).
OAUTH_TOKEN_FAILURE_WINDOW_SECONDS = env_int("OAUTH_TOKEN_FAILURE_WINDOW_SECONDS", 300, minimum=1)
OAUTH_TOKEN_FAILURES_PER_CLIENT = env_int("OAUTH_TOKEN_FAILURES_PER_CLIENT", 10, minimum=1)
OAUTH_TOKEN_FAILURES_PER_ADDRESS = env_int("OAUTH_TOKEN_FAILURES_PER_ADDRESS", 30, minimum=1)

# HTTPS. Behind a proxy that terminates TLS, name the header it sets
# (SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto) so Django knows a request came over HTTPS and the
# redirect does not loop; only set it if the proxy always overwrites that header.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https") if _proxy_ssl_header else None
)
# Load balancers probe the health check over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health/(live|ready)?$"]
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
# Preloading commits the whole domain to HTTPS in browsers' built-in lists, for months even
# after it is turned off: a decision for whoever owns the domain, so it is opt-in.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [
    # security.W021 "SECURE_HSTS_PRELOAD is not True": preload is the domain owner's opt-in
    # (above), not something every deployment of this code may assume.
    "security.W021",
    # security.W002/W003 "XFrameOptionsMiddleware/CsrfViewMiddleware not in MIDDLEWARE": false
    # positives. Django looks for those exact class paths; ours are their subclasses
    # (fintech/api/browser_middleware.py), which run them on every path but the bearer-token
    # API. tests/core/test_security_headers.py checks both still protect the browser pages.
    "security.W002",
    "security.W003",
]

# Content-Security-Policy (django-csp 4) on every HTML page: the admin and the API docs
# (Swagger UI and Redoc, served from our own origin by drf-spectacular-sidecar) load scripts
# only from this origin, or inline with the request's nonce (`{{ request.csp_nonce }}`).
# Styles allow 'unsafe-inline': the admin, Swagger UI and Redoc all set style attributes and
# inject <style> elements; a nonce would not cover attributes (and disables 'unsafe-inline').
# No form-action: the OAuth consent form's answer redirects to the client's redirect URI,
# which browsers check against form-action too.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        # Redoc renders in a web worker it starts from a blob: URL.
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    },
}
# RFC 9207 `iss` in every authorization response (RFC 9700 4.4: lets a client that talks to
# several authorization servers detect a mix-up attack); DOT's W005 asks for it.
OAUTH2_PROVIDER["COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS"] = True
# The API's JSON responses: nothing to load, nothing may frame them.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"

# --- the QuickBooks Online sandbox (integrations/simulators/quickbooks, docs/quickbooks-sandbox.md)
# Intuit's OAuth 2.0 server, Accounting API v3 and webhooks, served under /sandbox/quickbooks/.
# Its app's credentials, the verifier token it signs webhooks with (QUICKBOOKS_WEBHOOK_VERIFIER,
# the one our receiver checks), where it sends them, token lifetimes and per-realm limits.
QUICKBOOKS_SANDBOX_BASE_URL = env_str(
    "QUICKBOOKS_SANDBOX_BASE_URL", f"{FINTECH_BASE_URL}/sandbox/quickbooks"
).rstrip("/")
QUICKBOOKS_SANDBOX_CLIENT_ID = env_str(
    "QUICKBOOKS_SANDBOX_CLIENT_ID", "" if PRODUCTION else "quickbooks-sandbox-app"
)
QUICKBOOKS_SANDBOX_CLIENT_SECRET = _partner_secret(
    "QUICKBOOKS_SANDBOX_CLIENT_SECRET", "quickbooks-sandbox-client", enabled=False
)
QUICKBOOKS_SANDBOX_WEBHOOK_URL = env_str(
    "QUICKBOOKS_SANDBOX_WEBHOOK_URL", f"{FINTECH_BASE_URL}/webhooks/quickbooks/"
)
# Intuit: access tokens 1 hour, refresh tokens 100 days (x_refresh_token_expires_in).
QUICKBOOKS_SANDBOX_ACCESS_TOKEN_SECONDS = env_int(
    "QUICKBOOKS_SANDBOX_ACCESS_TOKEN_SECONDS", 3600, minimum=1
)
QUICKBOOKS_SANDBOX_REFRESH_TOKEN_SECONDS = env_int(
    "QUICKBOOKS_SANDBOX_REFRESH_TOKEN_SECONDS", 100 * 86400, minimum=1
)
# A spent refresh token still answers (with the same successor) this long after its use.
QUICKBOOKS_SANDBOX_REFRESH_GRACE_SECONDS = env_int(
    "QUICKBOOKS_SANDBOX_REFRESH_GRACE_SECONDS", 30, minimum=0
)
# Intuit's limits per realm: 500 requests a minute, 10 at once (a company's own settings win).
QUICKBOOKS_SANDBOX_RATE_PER_MINUTE = env_int("QUICKBOOKS_SANDBOX_RATE_PER_MINUTE", 500, minimum=1)
QUICKBOOKS_SANDBOX_CONCURRENT_LIMIT = env_int("QUICKBOOKS_SANDBOX_CONCURRENT_LIMIT", 10, minimum=1)

# --- Reconciliation (issue 17): matching, checks, mismatches, the nightly run ---------------
# Days a bank may book before or after our ledger date (reference matching, split, batch).
RECONCILIATION_DATE_WINDOW_DAYS = env_int("RECONCILIATION_DATE_WINDOW_DAYS", 3, minimum=0)
# Write-offs above this difference (minor units, any currency) need a second operator.
RECONCILIATION_WRITE_OFF_THRESHOLD_MINOR = env_int(
    "RECONCILIATION_WRITE_OFF_THRESHOLD_MINOR", 1000, minimum=0
)
# The nightly run: local time "HH:MM" in this zone (copied into its beat row by migration
# 0011; editable under Periodic tasks afterwards); the watchdog alerts GRACE hours later.
RECONCILIATION_TIME_ZONE = env_str("RECONCILIATION_TIME_ZONE", "UTC")
RECONCILIATION_RUN_AT = env_str("RECONCILIATION_RUN_AT", "03:15")
RECONCILIATION_GRACE_HOURS = env_int("RECONCILIATION_GRACE_HOURS", 2, minimum=0)
RECONCILIATION_HOLD_MAX_AGE_DAYS = env_int("RECONCILIATION_HOLD_MAX_AGE_DAYS", 7, minimum=1)
RECONCILIATION_TRANSFER_SLA_HOURS = {
    "created": env_int("RECONCILIATION_SLA_CREATED_HOURS", 24, minimum=1),
    "funded": env_int("RECONCILIATION_SLA_FUNDED_HOURS", 4, minimum=1),
    "processing": env_int("RECONCILIATION_SLA_PROCESSING_HOURS", 48, minimum=1),
}
RECONCILIATION_SUSPENSE_PREFIXES = env_list("RECONCILIATION_SUSPENSE_PREFIXES", ["suspense:"])
# Statement files dropped in <dir>/<account number>/ are imported by the nightly run.
RECONCILIATION_INBOX_DIR = env_str("RECONCILIATION_INBOX_DIR", "")
# Modules that register more checks (ERP, CRM): `@register_check` at import.
RECONCILIATION_CHECK_MODULES = env_list(
    "RECONCILIATION_CHECK_MODULES",
    [
        "integrations.payments.reconciliation_checks",
        "integrations.connectors.crm.hubspot.reconciliation_checks",
    ],
)
INTEGRATIONS_PACKAGES += ["integrations.reconciliation"]
# The exception inbox (integrations/inbox/): its scan task, every minute from beat.
INTEGRATIONS_PACKAGES += ["integrations.inbox"]

# --- CRM (HubSpot) connector and its sandbox (integrations/connectors/crm/hubspot/,
# integrations/simulators/crm/, docs/crm.md) --------------------------------------------------
HUBSPOT_CONNECTOR = env_choice("HUBSPOT_CONNECTOR", _default_connector, ("sandbox", "live", "none"))
CRM_SANDBOX_BASE_URL = env_str("CRM_SANDBOX_BASE_URL", f"{FINTECH_BASE_URL}/sandbox/crm").rstrip(
    "/"
)
CRM_SANDBOX_CLIENT_ID = env_str("CRM_SANDBOX_CLIENT_ID", "" if PRODUCTION else "crm-sandbox-app")
CRM_SANDBOX_CLIENT_SECRET = _partner_secret(
    "CRM_SANDBOX_CLIENT_SECRET", "crm-sandbox-client", enabled=False
)
# Where the sandbox sends its signed webhooks, and its limits per portal (HubSpot's: 100 calls
# per 10 seconds, 250,000 a day); a portal's own settings (control endpoint) win.
CRM_SANDBOX_WEBHOOK_URL = env_str(
    "CRM_SANDBOX_WEBHOOK_URL", f"{FINTECH_BASE_URL}/webhooks/hubspot/"
)
CRM_SANDBOX_ACCESS_TOKEN_SECONDS = env_int("CRM_SANDBOX_ACCESS_TOKEN_SECONDS", 1800, minimum=1)
CRM_SANDBOX_RATE_PER_10S = env_int("CRM_SANDBOX_RATE_PER_10S", 100, minimum=1)
CRM_SANDBOX_RATE_PER_DAY = env_int("CRM_SANDBOX_RATE_PER_DAY", 250_000, minimum=1)
_hubspot_sandbox = CRM_SANDBOX_BASE_URL
_hubspot_live = HUBSPOT_CONNECTOR == "live"
HUBSPOT_API_URL = env_str("HUBSPOT_API_URL", _hubspot_sandbox).rstrip("/")
HUBSPOT_AUTHORIZE_URL = env_str("HUBSPOT_AUTHORIZE_URL", f"{_hubspot_sandbox}/oauth/authorize")
HUBSPOT_TOKEN_URL = env_str("HUBSPOT_TOKEN_URL", f"{_hubspot_sandbox}/oauth/v1/token")
HUBSPOT_CLIENT_ID = (
    env_required("HUBSPOT_CLIENT_ID")
    if _hubspot_live
    else env_str("HUBSPOT_CLIENT_ID", CRM_SANDBOX_CLIENT_ID)
)
# Also the key HubSpot signs its webhooks with (v3 signature: the app's client secret).
HUBSPOT_CLIENT_SECRET = (
    env_required("HUBSPOT_CLIENT_SECRET")
    if _hubspot_live
    else env_str("HUBSPOT_CLIENT_SECRET", CRM_SANDBOX_CLIENT_SECRET)
)
HUBSPOT_SCOPES = env_str(
    "HUBSPOT_SCOPES",
    "oauth crm.objects.companies.read crm.objects.companies.write crm.objects.contacts.read "
    "crm.objects.contacts.write crm.schemas.companies.write crm.objects.owners.read",
)
HUBSPOT_TIMEOUT_SECONDS = env_int("HUBSPOT_TIMEOUT_SECONDS", 20, minimum=1)
# The URL HubSpot signs a webhook with (its target URL); empty: the request's own URL.
HUBSPOT_WEBHOOK_URL = env_str("HUBSPOT_WEBHOOK_URL", "")
HUBSPOT_SANDBOX_AUTOCONNECT = env_bool("HUBSPOT_SANDBOX_AUTOCONNECT", False)
# The lifecycle rules: volume bands on the trailing window (major units, per currency; the
# profile's band is the highest any one currency reaches), one tier per band, and from which
# band (0-based) a customer is high value; "dormant" after this many days without a transfer.
CRM_WINDOW_DAYS = env_int("CRM_WINDOW_DAYS", 90, minimum=1)
CRM_DORMANT_DAYS = env_int("CRM_DORMANT_DAYS", 90, minimum=1)
CRM_VOLUME_BAND_EDGES = tuple(
    int(edge) for edge in env_str("CRM_VOLUME_BAND_EDGES", "10000,100000,1000000").split(",")
)
CRM_TIERS = tuple(env_str("CRM_TIERS", "starter,growth,scale,enterprise").split(","))
CRM_HIGH_VALUE_BAND = env_int("CRM_HIGH_VALUE_BAND", 2, minimum=0)
if len(CRM_TIERS) != len(CRM_VOLUME_BAND_EDGES) + 1:
    raise ImproperlyConfigured("CRM_TIERS needs one tier per volume band (edges + 1)")
SYNC_PROVIDER_LIMITS["hubspot"] = {
    "calls_per_minute": env_int("HUBSPOT_CALLS_PER_10S", 100, minimum=1),
    "calls_window_seconds": 10,
    "calls_per_day": env_int("HUBSPOT_CALLS_PER_DAY", 250_000, minimum=1),
    "max_concurrent": env_int("HUBSPOT_MAX_CONCURRENT", 10, minimum=1),
}
INTEGRATIONS_PACKAGES.insert(
    INTEGRATIONS_PACKAGES.index("integrations.simulators"), "integrations.connectors.crm.hubspot"
)

# --- QuickBooks Online connector (issue 14; integrations/connectors/accounting/quickbooks/) ---
# Locally the sandbox this project serves under /sandbox/quickbooks/ (Intuit's shapes); in
# production set QUICKBOOKS_CONNECTOR=live and Intuit's endpoints and the app's credentials:
# authorize https://appcenter.intuit.com/connect/oauth2, tokens
# https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer, revoke
# https://developer.api.intuit.com/v2/oauth2/tokens/revoke, API
# https://quickbooks.api.intuit.com/v3 (sandbox companies: sandbox-quickbooks.api.intuit.com).
QUICKBOOKS_CONNECTOR = env_choice(
    "QUICKBOOKS_CONNECTOR", _default_connector, ("sandbox", "live", "none")
)
# QUICKBOOKS_SANDBOX_BASE_URL and the sandbox app's credentials: the sandbox's block above.
_qbo_sandbox = QUICKBOOKS_SANDBOX_BASE_URL
QUICKBOOKS_AUTHORIZE_URL = env_str("QUICKBOOKS_AUTHORIZE_URL", f"{_qbo_sandbox}/oauth2/authorize")
QUICKBOOKS_TOKEN_URL = env_str("QUICKBOOKS_TOKEN_URL", f"{_qbo_sandbox}/oauth2/tokens/bearer")
QUICKBOOKS_REVOKE_URL = env_str("QUICKBOOKS_REVOKE_URL", f"{_qbo_sandbox}/oauth2/revoke")
QUICKBOOKS_API_URL = env_str("QUICKBOOKS_API_URL", f"{_qbo_sandbox}/v3").rstrip("/")
_qbo_live = QUICKBOOKS_CONNECTOR == "live"
QUICKBOOKS_CLIENT_ID = (
    env_required("QUICKBOOKS_CLIENT_ID")
    if _qbo_live
    else env_str("QUICKBOOKS_CLIENT_ID", QUICKBOOKS_SANDBOX_CLIENT_ID)
)
QUICKBOOKS_CLIENT_SECRET = (
    env_required("QUICKBOOKS_CLIENT_SECRET")
    if _qbo_live
    else env_str("QUICKBOOKS_CLIENT_SECRET", QUICKBOOKS_SANDBOX_CLIENT_SECRET)
)
QUICKBOOKS_SCOPES = env_str("QUICKBOOKS_SCOPES", "com.intuit.quickbooks.accounting")
# The API's minorversion on every call (Intuit's minimum is 75 since August 2025).
QUICKBOOKS_MINOR_VERSION = env_int("QUICKBOOKS_MINOR_VERSION", 75, minimum=1)
QUICKBOOKS_TIMEOUT_SECONDS = env_int("QUICKBOOKS_TIMEOUT_SECONDS", 20, minimum=1)
# How long a throttled connection waits when Intuit's 429 names no Retry-After (it rarely
# does; its limits are per minute).
QUICKBOOKS_THROTTLE_WAIT_SECONDS = env_int("QUICKBOOKS_THROTTLE_WAIT_SECONDS", 60, minimum=1)
# `make run` connects a demo business customer's books (this legal name) to the sandbox.
QUICKBOOKS_SANDBOX_AUTOCONNECT = env_bool("QUICKBOOKS_SANDBOX_AUTOCONNECT", False)
QUICKBOOKS_SANDBOX_AUTOCONNECT_PROFILE = env_str(
    "QUICKBOOKS_SANDBOX_AUTOCONNECT_PROFILE", "Acme Trading Ltd"
)
# Intuit's limits per realm: 500 requests a minute, 10 at once (no daily cap).
SYNC_PROVIDER_LIMITS["quickbooks"] = {
    "calls_per_minute": env_int("QUICKBOOKS_CALLS_PER_MINUTE", 500, minimum=1),
    "calls_per_day": env_int("QUICKBOOKS_CALLS_PER_DAY", 1_000_000, minimum=1),
    "max_concurrent": env_int("QUICKBOOKS_MAX_CONCURRENT", 10, minimum=1),
}

# --- ERP payments (fintech/payments, integrations/payments, docs/erp.md) --------------------
INSTALLED_APPS += ["fintech.payments"]
INTEGRATIONS_PACKAGES += ["integrations.payments"]
# Default approval thresholds per currency (minor units of the request's amount): at or above
# them a second approver from the customer's members is needed. A profile's ApprovalPolicy
# overrides per currency.
ERP_APPROVAL_THRESHOLDS_MINOR: dict[str, int] = {
    "GBP": 1_000_000, "EUR": 1_000_000, "USD": 1_000_000,
}  # fmt: skip
# Refused above (per payment, minor units); a profile's policy may lower or raise it.
ERP_MAX_AMOUNT_MINOR: dict[str, int] = {}
# A due date further back or ahead than these is refused as not sane.
ERP_DUE_DATE_MAX_PAST_DAYS = env_int("ERP_DUE_DATE_MAX_PAST_DAYS", 90, minimum=0)
ERP_DUE_DATE_MAX_FUTURE_DAYS = env_int("ERP_DUE_DATE_MAX_FUTURE_DAYS", 365, minimum=1)
# Same vendor, amount and bill reference within this many days: held as a possible duplicate.
ERP_DUPLICATE_WINDOW_DAYS = env_int("ERP_DUPLICATE_WINDOW_DAYS", 30, minimum=1)
# Screening hooks (dotted paths to `(ScreeningSubject) -> list[str]`), and the keywords of the
# built-in keyword screen.
ERP_SCREENING_HOOKS: list[str] = ["fintech.payments.screening.keyword_screen"]
ERP_SCREENING_KEYWORDS: list[str] = [
    w.strip() for w in env_str("ERP_SCREENING_KEYWORDS", "").split(",") if w.strip()
]
# Sanctions screening (fintech/compliance/screening): a name pair scoring at least this
# (0-100, rapidfuzz token ratios over transliterated, normalised names) is a hit, unless date
# of birth or country, known on both sides, disagree.
SANCTIONS_MATCH_THRESHOLD = env_int("SANCTIONS_MATCH_THRESHOLD", 88, minimum=50)
# Compliance cases (fintech/compliance/cases, docs/compliance.md "Cases"). Closing a case whose
# risk score (0-100, its highest alert's) is at or above this takes two officers: one
# proposes, another approves (101 turns four eyes off).
CASE_FOUR_EYES_RISK = env_int("CASE_FOUR_EYES_RISK", 80, minimum=0)
# A case's decision is due this many days after it opens (overdue ones rank high in the inbox).
CASE_DUE_DAYS = env_int("CASE_DUE_DAYS", 30, minimum=1)
# Largest attachment accepted (bytes); attachments are kept in the database.
CASE_ATTACHMENT_MAX_BYTES = env_int("CASE_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
# Most items in one JSON batch.
ERP_BATCH_MAX_ITEMS = env_int("ERP_BATCH_MAX_ITEMS", 2000, minimum=1)

# --- Disputes (fintech/disputes, docs/disputes.md) -----------------------------------------
INSTALLED_APPS += ["fintech.disputes"]
INTEGRATIONS_PACKAGES += ["integrations.disputes"]
# A transfer can be disputed up to this many days after it was paid out.
DISPUTE_OPEN_MAX_DAYS = env_int("DISPUTE_OPEN_MAX_DAYS", 120, minimum=1)
# Our answer is due this many days after a dispute opens (or goes under review).
DISPUTE_RESPONSE_DAYS = env_int("DISPUTE_RESPONSE_DAYS", 10, minimum=1)
# The customer's evidence is due this many days after we ask; then the dispute is withdrawn.
DISPUTE_EVIDENCE_DAYS = env_int("DISPUTE_EVIDENCE_DAYS", 14, minimum=1)
