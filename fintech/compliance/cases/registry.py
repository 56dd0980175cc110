"""Alert kinds a case can hold, registered by name at start-up (ComplianceConfig.ready for
screening hits; the monitoring app for its alerts).

A case decision calls back into the kind: `release` lifts the alert's hold (case closed as
cleared), `confirm` keeps it (closed as reported); `describe` gives the facts the
suspicious-activity report carries; `transfers` (optional) names the transfers the alert
holds, which a reported case may cancel. Callbacks run inside the case's transaction and
must be idempotent for an alert already decided the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fintech.core.services import Actor

Decide = Callable[[Actor, int, str], None]


@dataclass(frozen=True)
class CaseSource:
    kind: str
    release: Decide
    confirm: Decide
    describe: Callable[[int], dict[str, Any]]
    transfers: Callable[[int], list[int]] | None = None


_SOURCES: dict[str, CaseSource] = {}


def case_source_register(
    kind: str,
    *,
    release: Decide,
    confirm: Decide,
    describe: Callable[[int], dict[str, Any]],
    transfers: Callable[[int], list[int]] | None = None,
) -> None:
    """Register (or re-register, e.g. on a reload) the alert kind `kind`."""
    if not kind or len(kind) > 40:
        raise ValueError(f"a case source kind is 1-40 characters: {kind!r}")
    _SOURCES[kind] = CaseSource(kind, release, confirm, describe, transfers)


def case_source(kind: str) -> CaseSource:
    try:
        return _SOURCES[kind]
    except KeyError:
        raise LookupError(f"no case source registered for {kind!r}") from None


def case_source_kinds() -> list[str]:
    return sorted(_SOURCES)
