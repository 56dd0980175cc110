"""Intuit's `requestid` on writes: the same requestid in the same company answers the first
request's response, whatever is sent the second time (Intuit's documented behaviour), and
the work is done once.

Why a unique row inserted in the write's own transaction: a concurrent duplicate's INSERT
waits on the first one's uncommitted row (PostgreSQL's unique index), then fails once it
commits and replays the stored answer; if the first rolls back (a 5xx), the duplicate's
INSERT goes through and it does the work itself. A Fault (4xx) is stored and replayed too;
a 5xx is not (the retry runs again)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from integrations.models import QuickBooksSandboxCompany as Company
from integrations.models import QuickBooksSandboxRequest as Request
from integrations.simulators.quickbooks import faults

MAX_LENGTH = 50
KEEP_HOURS = 24


class _Undo(Exception):
    def __init__(self, response: HttpResponse) -> None:
        super().__init__("not stored")
        self.response = response


def _work(work: Callable[[], HttpResponse]) -> HttpResponse:
    """`work` in a savepoint: a Fault rolls its writes back and becomes the answer."""
    try:
        with transaction.atomic():
            return work()
    except faults.Fault as refused:
        return refused.response()


def run_once(company: Company, request_id: str, work: Callable[[], HttpResponse]) -> HttpResponse:
    if not request_id:
        with transaction.atomic():
            return _work(work)
    if len(request_id) > MAX_LENGTH:
        return faults.Fault(
            "Invalid requestid", f"requestid is longer than {MAX_LENGTH} characters", code="2050"
        ).response()
    _purge(company)
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    row = Request.objects.create(
                        company=company, request_id=request_id, status_code=0
                    )
            except IntegrityError:
                row = None
            if row is not None:
                response = _work(work)
                if response.status_code >= 500:
                    raise _Undo(response)
                Request.objects.filter(pk=row.pk).update(
                    status_code=response.status_code, body=response.content.decode()
                )
                return response
    except _Undo as undo:
        return undo.response
    first = Request.objects.get(company=company, request_id=request_id)
    return HttpResponse(first.body, status=first.status_code, content_type="application/json")


def _purge(company: Company, *, batch: int = 100) -> None:
    cutoff = timezone.now() - timedelta(hours=KEEP_HOURS)
    keys = list(
        Request.objects.filter(company=company, created_at__lt=cutoff).values_list("pk", flat=True)[
            :batch
        ]
    )
    if keys:
        Request.objects.filter(pk__in=keys).delete()
