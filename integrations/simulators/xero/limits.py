"""Xero's per-tenant limits in the sandbox (integrations/simulators/limits.py): calls per
minute, per day and concurrent calls, each org's own settings over the XERO_SANDBOX_* ones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from integrations.models import XeroSandboxOrg
from integrations.simulators import limits
from integrations.simulators.limits import Verdict, fault_for

PREFIX = "xero-sandbox"
__all__ = ["Verdict", "call_slot", "counters_reset", "fault_for", "limits_of"]


def limits_of(org: XeroSandboxOrg) -> tuple[int, int, int]:
    return (
        org.rate_per_minute or settings.XERO_SANDBOX_RATE_PER_MINUTE,
        org.rate_per_day or settings.XERO_SANDBOX_RATE_PER_DAY,
        org.concurrent_limit or settings.XERO_SANDBOX_CONCURRENT_LIMIT,
    )


@contextmanager
def call_slot(org: XeroSandboxOrg) -> Iterator[Verdict]:
    per_minute, per_day, concurrent = limits_of(org)
    with limits.call_slot(
        PREFIX, str(org.pk), per_minute=per_minute, per_day=per_day, concurrent=concurrent
    ) as verdict:
        yield verdict


def counters_reset(org: XeroSandboxOrg) -> None:
    limits.counters_reset(PREFIX, str(org.pk))
