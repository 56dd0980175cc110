"""What the connectors plug in: event handlers for the relay, due-scans for the beat scanner.

Low in the stack on purpose: the relay (integrations/relay.py) and the scanner
(`integrations.scan_due`) read these tables and import no connector; each package listed in
`settings.INTEGRATIONS_PACKAGES` fills them from its `register()`, which
IntegrationsConfig.ready() calls in every process (web, worker, beat). Importing a package's
tasks module there is also what makes its Celery tasks known to the worker.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models

from fintech.core.models import OutboxEvent
from integrations import claims

EventHandler = Callable[[OutboxEvent], None]


@dataclass(frozen=True)
class _Subscription:
    handler: EventHandler
    enabled: Callable[[], bool]


_handlers: dict[str, list[_Subscription]] = {}
# Insertion-ordered: scan_due runs (and reports) the scans in registration order.
_scans: dict[str, Callable[[], int]] = {}


def register(
    event_type: str, handler: EventHandler, *, enabled: Callable[[], bool] = lambda: True
) -> None:
    """Run `handler` in the dispatch transaction of every `event_type` event while `enabled()`
    (read at dispatch time, so a connector switched off in settings stops receiving)."""
    subscriptions = _handlers.setdefault(event_type, [])
    if all(s.handler is not handler for s in subscriptions):  # ready() may run twice
        subscriptions.append(_Subscription(handler, enabled))


def handlers_for(event_type: str) -> list[EventHandler]:
    """The handlers subscribed to an event type and enabled now, in registration order."""
    return [s.handler for s in _handlers.get(event_type, []) if s.enabled()]


def register_scan(name: str, run: Callable[[], int]) -> None:
    """A scan for the beat scanner: `run()` publishes what is due and returns how many."""
    _scans[name] = run


def register_due_scan(
    name: str, *, task: str, model: type[models.Model], due: Callable[[], list[Any]]
) -> None:
    """The usual scan: publish task `task` (its stable name) for the ids `due()` took."""
    register_scan(name, lambda: claims.publish_taken(task, model, due()))


def scans() -> dict[str, Callable[[], int]]:
    return dict(_scans)


def packages_load(packages: Iterable[str]) -> None:
    """Import each package and call its `register()`."""
    for path in packages:
        importlib.import_module(path).register()
