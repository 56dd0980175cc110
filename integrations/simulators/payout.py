"""The payout partner simulator: a payout rail's HTTP API and its status webhooks.

POST /sandbox/payout-partner/payouts (Bearer PAYOUT_SANDBOX_API_KEY) creates a payout (the
same client_reference returns the same payout) and plans its life: accepted, then sent, or
failed, or sent and later returned. It walks one status at a time, every
PAYOUT_SANDBOX_LATENCY_SECONDS, sending each status as a webhook signed with
PAYOUT_SANDBOX_WEBHOOK_SECRET. The next status is due at the payout's `next_step_at`: the
beat scanner finds it there (a message, when it is due at once, only wakes a worker sooner).
GET /sandbox/payout-partner/settlement-report?date=&currency= is the day's settlement report
(JSON, or `&format=csv` as a file): each payout with our reference, status, amount and fee.
Steer it by the beneficiary's name: containing "fail" fails, containing "return" is returned
after being sent; otherwise PAYOUT_SANDBOX_FAILURE_PERCENT of payouts fail at random.
POST /sandbox/payout-partner/recalls asks for a sent payout back (a recall) or for its trace:
validated (the payout exists and was sent, one recall per payout, the same recall_reference
answers the same), then answered by a `payout.recall_answered` webhook one step later: the
money "recovered", or "refused" when the beneficiary's name contains "keep".
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from integrations.models import SandboxPayout
from integrations.simulators.common import (
    authorized,
    callback_allowed,
    error,
    json_body,
    new_id,
    partner_event,
    send_signed,
    step_claim,
    step_fields,
    step_publish,
    step_resend_later,
    steps_due,
)


def plan_for(beneficiary_name: str) -> list[str]:
    name = beneficiary_name.lower()
    if "fail" in name:
        return ["accepted", "failed"]
    if "return" in name:
        return ["accepted", "sent", "returned"]
    if random.randrange(100) < settings.PAYOUT_SANDBOX_FAILURE_PERCENT:  # noqa: S311
        return ["accepted", "failed"]
    return ["accepted", "sent"]


def as_json(payout: SandboxPayout) -> dict[str, Any]:
    return {
        "id": payout.id,
        "client_reference": payout.client_reference,
        "amount": payout.amount,
        "currency": payout.currency,
        "status": payout.status,
        "created_at": payout.created_at.isoformat(),
    }


def _publish(payout_id: str) -> None:
    step_publish(
        "integrations.sandbox_payout_advance",
        SandboxPayout,
        payout_id,
        delay_seconds=settings.PAYOUT_SANDBOX_LATENCY_SECONDS,
    )


def _validated(data: dict[str, Any]) -> dict[str, Any] | str:
    reference = data.get("client_reference")
    if not isinstance(reference, str) or not 0 < len(reference) <= 100:
        return "client_reference must be a string of 1 to 100 characters"
    try:
        amount = Decimal(str(data.get("amount")))
    except InvalidOperation:
        return "amount must be a decimal string"
    if not amount.is_finite() or amount <= 0:
        return "amount must be positive"
    currency = data.get("currency")
    if not isinstance(currency, str) or len(currency) != 3:
        return "currency must be an ISO 4217 code"
    callback = data.get("callback_url")
    if not isinstance(callback, str) or not callback_allowed(callback):
        return "callback_url must be this platform's /webhooks/ URL"
    beneficiary = data.get("beneficiary") or {}
    name = beneficiary.get("name", "") if isinstance(beneficiary, dict) else ""
    return {
        "client_reference": reference,
        "amount": str(data["amount"]),
        "currency": currency.upper(),
        "callback_url": callback,
        "beneficiary_name": str(name)[:200],
    }


@csrf_exempt
@require_POST
def payout_create(request: HttpRequest) -> JsonResponse:
    if not authorized(request, settings.PAYOUT_SANDBOX_API_KEY):
        return error(401, "unauthorized", "a valid API key is required")
    data = json_body(request)
    if data is None:
        return error(400, "invalid_json", "the body must be a JSON object")
    fields = _validated(data)
    if isinstance(fields, str):
        return error(422, "invalid_request", fields)
    existing = SandboxPayout.objects.filter(client_reference=fields["client_reference"]).first()
    if existing is not None:
        return JsonResponse(as_json(existing), status=200)
    try:
        with transaction.atomic():
            payout = SandboxPayout.objects.create(
                id=new_id("po"),
                plan=plan_for(fields["beneficiary_name"]),
                **fields,
                **step_fields(delay_seconds=settings.PAYOUT_SANDBOX_LATENCY_SECONDS),
            )
            _publish(payout.id)
    except IntegrityError:  # the same reference, concurrently: answer with the first one
        payout = SandboxPayout.objects.get(client_reference=fields["client_reference"])
        return JsonResponse(as_json(payout), status=200)
    return JsonResponse(as_json(payout), status=201)


@require_GET
def payout_get(request: HttpRequest, payout_id: str) -> JsonResponse:
    if not authorized(request, settings.PAYOUT_SANDBOX_API_KEY):
        return error(401, "unauthorized", "a valid API key is required")
    payout = SandboxPayout.objects.filter(pk=payout_id).first()
    if payout is None:
        return error(404, "not_found", "no such payout")
    return JsonResponse(as_json(payout))


RECALL_TYPES = ("recall", "trace")
RECALL_REASONS = ("not_received", "wrong_amount", "unauthorised", "duplicate")
RECALL_STEP = "recall_answered"  # a plan step that answers the recall; the status stays


def _validated_recall(data: dict[str, Any]) -> dict[str, Any] | str:
    reference = data.get("recall_reference")
    if not isinstance(reference, str) or not 0 < len(reference) <= 100:
        return "recall_reference must be a string of 1 to 100 characters"
    if data.get("type") not in RECALL_TYPES:
        return f"type must be one of {', '.join(RECALL_TYPES)}"
    if data.get("reason") not in RECALL_REASONS:
        return f"reason must be one of {', '.join(RECALL_REASONS)}"
    if not isinstance(data.get("client_reference"), str):
        return "client_reference must be the payout's client_reference"
    return {"recall_reference": reference, "recall_type": data["type"],
            "recall_reason": data["reason"]}  # fmt: skip


def recall_as_json(payout: SandboxPayout) -> dict[str, Any]:
    return {
        "payout_id": payout.id,
        "client_reference": payout.client_reference,
        "recall_reference": payout.recall_reference,
        "type": payout.recall_type,
        "reason": payout.recall_reason,
        "status": "answered" if payout.next_step_at is None else "pending",
    }


@csrf_exempt
@require_POST
def payout_recall(request: HttpRequest) -> JsonResponse:
    if not authorized(request, settings.PAYOUT_SANDBOX_API_KEY):
        return error(401, "unauthorized", "a valid API key is required")
    data = json_body(request)
    if data is None:
        return error(400, "invalid_json", "the body must be a JSON object")
    fields = _validated_recall(data)
    if isinstance(fields, str):
        return error(422, "invalid_request", fields)
    with transaction.atomic():
        # Locked: a recall retried concurrently is answered once, as the first.
        payout = (
            SandboxPayout.objects.select_for_update()
            .filter(client_reference=data["client_reference"])
            .first()
        )
        if payout is None:
            return error(404, "not_found", "no payout with this client_reference")
        if payout.recall_reference:
            if payout.recall_reference == fields["recall_reference"]:
                return JsonResponse(recall_as_json(payout), status=200)
            return error(409, "recall_exists", "this payout already has a recall")
        if payout.status != SandboxPayout.Status.SENT or payout.next_step_at is not None:
            return error(409, "not_recallable", f"the payout is {payout.status}, not sent")
        for name, value in fields.items():
            setattr(payout, name, value)
        payout.plan = [*payout.plan, RECALL_STEP]
        for name, value in step_fields(
            delay_seconds=settings.PAYOUT_SANDBOX_LATENCY_SECONDS
        ).items():
            setattr(payout, name, value)
        payout.save()
        _publish(payout.id)
    return JsonResponse(recall_as_json(payout), status=201)


def _recall_answer(payout: SandboxPayout) -> dict[str, Any]:
    refused = "keep" in payout.beneficiary_name.lower()
    return {
        "recall_reference": payout.recall_reference,
        "type": payout.recall_type,
        "outcome": "refused" if refused else "recovered",
        "message": "sandbox: the beneficiary's bank "
        + ("refused to return the funds" if refused else "returned the funds"),
    }


def payout_advance(*, payout_id: str) -> str:
    """Send the payout's next status if it is due and nobody else is on it.

    Returns the status sent, "retry" (our webhook endpoint did not acknowledge it: sent again
    after RESEND_SECONDS), "skipped" (not due, or another worker has it) or "done"."""
    if not step_claim(SandboxPayout, payout_id):
        return "skipped"
    payout = SandboxPayout.objects.get(pk=payout_id)
    step = payout.webhooks_sent
    if step >= len(payout.plan):
        SandboxPayout.objects.filter(pk=payout.id).update(next_step_at=None, locked_until=None)
        return "done"
    status = payout.plan[step]
    data: dict[str, Any] = {
        "payout_id": payout.id,
        "client_reference": payout.client_reference,
        "status": status,
        "amount": payout.amount,
        "currency": payout.currency,
    }
    if status == RECALL_STEP:
        data.update(_recall_answer(payout), status=payout.status)
    elif status in ("failed", "returned"):
        data["failure_code"] = "account_closed" if status == "returned" else "invalid_account"
        data["failure_message"] = f"sandbox: the beneficiary's bank {status} the payout"
    # Stable per step: a resend after a lost acknowledgement is a duplicate for the receiver.
    event = partner_event(event_id=f"evt_{payout.id}_{step}", type=f"payout.{status}", data=data)
    # A recall's answer leaves the payout's own status as it was.
    new_status = payout.status if status == RECALL_STEP else status
    if not send_signed(
        url=payout.callback_url, secret=settings.PAYOUT_SANDBOX_WEBHOOK_SECRET, event=event
    ):
        step_resend_later(SandboxPayout, payout.id)
        return "retry"
    more = step + 1 < len(payout.plan)
    delay = settings.PAYOUT_SANDBOX_LATENCY_SECONDS
    # One statement: the step is taken and the next one scheduled (or none), claim released.
    # Conditional on the step as well as the claim: a claim that lapsed mid-step (a very slow
    # callback) cannot make a second worker's copy count the step twice.
    SandboxPayout.objects.filter(pk=payout.id, webhooks_sent=step).update(
        webhooks_sent=step + 1,
        status=new_status,
        **(
            step_fields(delay_seconds=delay)
            if more
            else {"next_step_at": None, "locked_until": None}
        ),
    )
    if more:
        _publish(payout.id)
    return status


def payout_steps_due() -> list[str]:
    return steps_due(SandboxPayout)


# The partner's fee per payout sent, in the payout's currency (major units, as their reports
# write amounts); returned payouts keep the fee, failed ones cost nothing.
SETTLEMENT_FEE = Decimal("0.00")


def settlement_account(currency: str) -> str:
    """How the partner names our prefunded account in one currency on its reports."""
    return f"SANDBOX-PAYOUT-{currency}"


def settlement_report(*, day: str, currency: str) -> dict[str, Any]:
    """The day's settlement report for our account in `currency`: every payout created that
    day (UTC) with its status, amount and fee."""
    payouts = SandboxPayout.objects.filter(
        currency=currency, created_at__date=day,
        status__in=[SandboxPayout.Status.SENT, SandboxPayout.Status.FAILED,
                    SandboxPayout.Status.RETURNED],
    ).order_by("created_at", "id")  # fmt: skip
    rows = []
    for p in payouts:
        fee = Decimal("0") if p.status == SandboxPayout.Status.FAILED else SETTLEMENT_FEE
        rows.append({
            "payout_id": p.id, "client_reference": p.client_reference, "status": p.status,
            "amount": p.amount, "currency": p.currency, "fee": str(fee),
            "settled_at": p.updated_at.isoformat(),
        })  # fmt: skip
    return {
        "report": "settlement",
        "date": day,
        "account": settlement_account(currency),
        "currency": currency,
        "payouts": rows,
    }


@require_GET
def payout_settlement_report(request: HttpRequest) -> HttpResponse:
    """GET settlement-report?date=YYYY-MM-DD&currency=GBP[&format=csv]: JSON (the API pull),
    or the same rows as a CSV file."""
    if not authorized(request, settings.PAYOUT_SANDBOX_API_KEY):
        return error(401, "unauthorized", "a valid API key is required")
    day = request.GET.get("date", "")
    currency = request.GET.get("currency", "").upper()
    try:
        date.fromisoformat(day)
    except ValueError:
        return error(422, "invalid_request", "date must be YYYY-MM-DD")
    if len(currency) != 3 or not currency.isalpha():
        return error(422, "invalid_request", "currency must be an ISO 4217 code")
    report = settlement_report(day=day, currency=currency)
    if request.GET.get("format") != "csv":
        return JsonResponse(report)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(SETTLEMENT_COLUMNS))
    writer.writeheader()
    writer.writerows(report["payouts"])
    response = HttpResponse(out.getvalue(), content_type="text/csv")
    name = f"settlement-{report['account']}-{day}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


SETTLEMENT_COLUMNS = (
    "payout_id", "client_reference", "status", "amount", "currency", "fee", "settled_at",
)  # fmt: skip
