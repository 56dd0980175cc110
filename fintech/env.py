"""Typed settings helpers: configuration comes only from environment variables.

A bad value stops start-up with a message that names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _get(name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return parse(raw.strip())
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"Environment variable {name}={raw!r} is invalid: expected {expected}"
        ) from exc


def env_str(name: str, default: str = "") -> str:
    return _get(name, default, str, "a string")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    def parse(raw: str) -> int:
        value = int(raw)
        if minimum is not None and value < minimum:
            raise ValueError(raw)
        return value

    suffix = f" >= {minimum}" if minimum is not None else ""
    return _get(name, default, parse, f"an integer{suffix}")


def env_bool(name: str, default: bool) -> bool:
    def parse(raw: str) -> bool:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ValueError(raw)

    return _get(name, default, parse, "one of 1/0, true/false, yes/no, on/off")


def env_list(name: str, default: list[str]) -> list[str]:
    return _get(
        name,
        default,
        lambda raw: [p.strip() for p in raw.split(",") if p.strip()],
        "a comma-separated list",
    )


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(raw)
        return raw

    return _get(name, default, parse, "one of " + ", ".join(choices))


def env_required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"Environment variable {name} is required in production mode")
    return value
