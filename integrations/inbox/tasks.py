"""The inbox scan's task (beat, every minute: `integrations: exception inbox scan`)."""

from __future__ import annotations

from celery import shared_task

from integrations.inbox.scan import exception_scan


@shared_task(name="integrations.exception_inbox_scan", ignore_result=True)
def exception_inbox_scan() -> dict[str, int]:
    result = exception_scan()
    return {"opened": sum(result.opened.values()), "resolved": sum(result.resolved.values())}
