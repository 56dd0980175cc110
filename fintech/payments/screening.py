"""Compliance screening hooks for ERP payment requests.

A hook is a callable `(ScreeningSubject) -> list[str]`: the reasons it trips (empty: clear).
Hooks come from two places: `screening_register()` (code that plugs in, e.g. a sanctions
screening module) and the dotted paths in settings.ERP_SCREENING_HOOKS. A request that trips
any hook is held for review with the suspicious-activity flag set; it never reaches the rail
until an operator releases it. A hook that raises counts as a trip (fail closed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScreeningSubject:
    profile_id: int
    beneficiary_id: int
    holder_name: str
    country: str
    amount_minor: int
    currency: str
    due_date: date
    bill_reference: str
    remittance_reference: str


ScreeningHook = Callable[[ScreeningSubject], list[str]]

_registered: dict[str, ScreeningHook] = {}


def screening_register(name: str, hook: ScreeningHook) -> None:
    _registered[name] = hook


def screening_unregister(name: str) -> None:
    _registered.pop(name, None)


def screening_hooks() -> dict[str, ScreeningHook]:
    hooks = dict(_registered)
    for path in getattr(settings, "ERP_SCREENING_HOOKS", []):
        hooks[path] = import_string(path)
    return hooks


def screen(subject: ScreeningSubject) -> list[str]:
    """Every hook's reasons, as "hook: reason"."""
    reasons: list[str] = []
    for name, hook in screening_hooks().items():
        try:
            found = hook(subject)
        except Exception as exc:  # fail closed: a broken screen holds the payment
            logger.exception("screening hook %s failed", name)
            found = [f"screening failed ({type(exc).__name__})"]
        reasons.extend(f"{name}: {reason}" for reason in found)
    return reasons


def keyword_screen(subject: ScreeningSubject) -> list[str]:
    """Built-in hook: references that contain a word from settings.ERP_SCREENING_KEYWORDS."""
    words = [w.lower() for w in getattr(settings, "ERP_SCREENING_KEYWORDS", []) if w]
    text = f"{subject.bill_reference} {subject.remittance_reference} {subject.holder_name}".lower()
    return [f"reference mentions {word!r}" for word in words if word in text]
