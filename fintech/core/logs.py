"""Logs: structlog over the standard library, one request id per request, secrets redacted.

Every `logging.getLogger(__name__)` call and every structlog logger goes through the same
`structlog.stdlib.ProcessorFormatter` (see `logging_config`, used for Django's LOGGING): JSON
lines in production (`LOG_FORMAT=json`), readable console lines locally.

The request id (`X-Request-Id`, fintech/api/middleware.py) is bound with `structlog.contextvars`
for the request's log lines, travels in a Celery message header to every task the request
publishes (bound again in the worker for the task's lines and for what it publishes in turn),
and is sent as `X-Request-Id` on our outbound HTTP calls (integrations/http.py).

Redaction runs last before rendering, on every line: values under sensitive keys (password,
token, secret, authorization, iban, account number, ...) become "[REDACTED]", and IBAN-looking
strings and bearer/basic credentials inside any text (the message, a traceback) are masked.
"""

from __future__ import annotations

import logging
import logging.config
import re
import time
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REQUEST_ID_KEY = "request_id"
# The Celery message header carrying its publish time (epoch seconds).
PUBLISHED_AT_HEADER = "fintech_published_at"
# The Celery message header carrying the request id (before_task_publish -> task_prerun).
CELERY_HEADER = "fintech_request_id"
REDACTED = "[REDACTED]"

# Keys whose values are never logged: matched as a substring of the lower-cased key, so
# "client_secret", "access_token", "HTTP_AUTHORIZATION" and "beneficiary_iban" are all caught.
SENSITIVE_KEY_PARTS = (
    "password",
    "passwd",
    "token",
    "secret",
    "authorization",
    "api_key",
    "apikey",
    "cookie",
    "iban",
    "account_number",
    "accountnumber",
    "sort_code",
    "routing_number",
    "card_number",
    "cvv",
    "code_verifier",
    "private_key",
)
# Whole keys that contain a sensitive part by accident.
_SAFE_KEYS = frozenset({"event", "logger", "level", "timestamp", "request_id"})

# An IBAN: country code, check digits, 11 to 30 alphanumerics (print form with spaces too).
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
# Credentials in a header-like text: "Bearer abc...", "Basic dXNl...", "token=...".
_CREDENTIAL = re.compile(
    r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"
    r"|\b(access_token|refresh_token|client_secret|password|api_key|token)([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
)


def _key_is_sensitive(key: str) -> bool:
    lowered = key.lower()
    if lowered in _SAFE_KEYS:
        return False
    return any(part in lowered for part in SENSITIVE_KEY_PARTS)


def redact_text(text: str) -> str:
    """`text` with IBAN-looking strings and credentials masked."""
    text = _IBAN.sub(REDACTED, text)

    def credential(match: re.Match[str]) -> str:
        if match.group(1):
            return f"{match.group(1)} {REDACTED}"
        return f"{match.group(2)}{match.group(3)}{REDACTED}"

    return _CREDENTIAL.sub(credential, text)


def redact_value(value: Any, depth: int = 0) -> Any:
    if depth > 6:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: REDACTED
            if isinstance(k, str) and _key_is_sensitive(k)
            else redact_value(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, depth + 1) for v in value]
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


def redact_sensitive(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: run after the message and any traceback are text."""
    return {
        key: REDACTED if _key_is_sensitive(key) else redact_value(value)
        for key, value in event_dict.items()
    }


def _drop_record(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("_record", None)
    event_dict.pop("_from_structlog", None)
    return event_dict


# Shared by structlog's own loggers and by standard-library records (the "foreign" chain).
_PRE_CHAIN: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.PositionalArgumentsFormatter(),
    structlog.processors.StackInfoRenderer(),
]


def formatter(log_format: str) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every handler: "json" (one object a line) or "console"."""
    if log_format == "json":
        processors: list[Processor] = [
            _drop_record,
            structlog.processors.format_exc_info,
            redact_sensitive,
            structlog.processors.JSONRenderer(),
        ]
    else:
        # The traceback as plain text before redaction (so it is redacted too); the console
        # renderer then prints it as it is.
        processors = [
            _drop_record,
            structlog.processors.format_exc_info,
            redact_sensitive,
            _exception_to_message,
            structlog.dev.ConsoleRenderer(colors=False),
        ]
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=_PRE_CHAIN, processors=processors)


def _exception_to_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # ConsoleRenderer formats "exception" itself (and warns if it is already text).
    exception = event_dict.pop("exception", None)
    if exception:
        event_dict["event"] = f"{event_dict.get('event', '')}\n{exception}"
    return event_dict


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING: one stderr handler with our formatter on the root logger."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": "fintech.core.logs.formatter",
                "log_format": log_format,
            }
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "structured"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "INFO"}},
    }


def gunicorn_logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its error and access lines through the same formatter (so
    JSON in production, with the request id and redaction; the access line's request line may
    carry a query string)."""
    config = logging_config(log_format=log_format, level=level)
    config["loggers"] = {
        **config["loggers"],
        "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    }
    return config


def default_log_format(environment: str) -> str:
    return "json" if environment == "production" else "console"


def configure_structlog() -> None:
    """structlog's own loggers hand their event dicts to the standard library's handlers."""
    structlog.configure(
        processors=[
            *_PRE_CHAIN,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


# --- the request id ---------------------------------------------------------------------------


def current_request_id() -> str:
    """The request id bound in this context (a request, or a task it caused), or ""."""
    return str(structlog.contextvars.get_contextvars().get(REQUEST_ID_KEY) or "")


def bind_request_id(request_id: str) -> None:
    """Start a new log context (nothing from the last request or task) with `request_id`."""
    structlog.contextvars.clear_contextvars()
    if request_id:
        structlog.contextvars.bind_contextvars(**{REQUEST_ID_KEY: request_id})


def clear_log_context() -> None:
    structlog.contextvars.clear_contextvars()


def celery_before_task_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is None:
        return
    request_id = current_request_id()
    if request_id:
        headers.setdefault(CELERY_HEADER, request_id)
    # When it was sent: /metrics reads the oldest waiting message's age from it.
    headers.setdefault(PUBLISHED_AT_HEADER, time.time())


def celery_task_prerun(task: Any = None, task_id: str = "", **_: Any) -> None:
    if task is None or getattr(task.request, "is_eager", False):
        return  # run inline: the caller's context is the right one, leave it
    bind_request_id(str(getattr(task.request, CELERY_HEADER, None) or ""))
    structlog.contextvars.bind_contextvars(task_id=task_id, task=task.name)


def celery_task_postrun(task: Any = None, **_: Any) -> None:
    if task is None or getattr(task.request, "is_eager", False):
        return
    clear_log_context()


def celery_setup_logging(**_: Any) -> None:
    """Celery's setup_logging signal: a receiver stops Celery replacing the root logger's
    handlers, so the worker logs through Django's LOGGING (already applied by django.setup)."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
