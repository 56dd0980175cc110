"""Xero's answer shapes: the envelope, its dates, its errors.

Amounts are computed as Decimal and kept in the stored JSON as floats rounded to the cent; a
float's shortest repr of a 2-decimal amount below 10^13 is that decimal exactly, so a client
parsing with `parse_float=Decimal` reads back the exact amount."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from integrations.simulators.common import json_safe

__all__ = ["json_safe"]

PROVIDER_NAME = "Fintech Xero sandbox"
CENT = Decimal("0.01")


class XeroValidationError(Exception):
    """A refusal in Xero's ValidationException shape: each element with its messages."""

    def __init__(self, elements: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(m for e in elements for m in messages_of(e)))
        self.elements = elements

    @classmethod
    def one(cls, element: dict[str, Any], *messages: str) -> XeroValidationError:
        return cls([with_errors(element, list(messages))])

    def response(self) -> JsonResponse:
        return validation_exception(self.elements)


def messages_of(element: dict[str, Any]) -> list[str]:
    return [str(e.get("Message", "")) for e in element.get("ValidationErrors", [])]


def with_errors(element: dict[str, Any], messages: list[str]) -> dict[str, Any]:
    return {**element, "ValidationErrors": [{"Message": m} for m in messages]}


def validation_exception(elements: list[dict[str, Any]]) -> JsonResponse:
    return JsonResponse(
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": json_safe(elements),
        },
        status=400,
    )


def problem(
    status: int, title: str, detail: str, request: HttpRequest | None = None
) -> JsonResponse:
    """Xero's identity/API gateway errors (401, 403, 404, 429, 5xx)."""
    return JsonResponse(
        {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        },
        status=status,
    )


def query_parse_error(message: str) -> JsonResponse:
    return JsonResponse(
        {"ErrorNumber": 16, "Type": "QueryParseException", "Message": message}, status=400
    )


def not_found() -> HttpResponse:
    return problem(404, "NotFound", "The resource you're looking for cannot be found")


def envelope(key: str, items: list[dict[str, Any]]) -> JsonResponse:
    return JsonResponse(
        {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": PROVIDER_NAME,
            "DateTimeUTC": ms_datetime(timezone.now(), zone=False),
            key: items,
        }
    )


def ms_datetime(moment: datetime, *, zone: bool = True) -> str:
    millis = int(moment.timestamp() * 1000)
    return f"/Date({millis}+0000)/" if zone else f"/Date({millis})/"


def ms_date(day: date) -> str:
    return ms_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC))


def date_string(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"


def parse_day(value: Any) -> date | None:
    """A request's date: `2026-12-01`, an ISO datetime, or `/Date(ms+0000)/`."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("/Date("):
        digits = text[6:].split("+")[0].split(")")[0].split("-")[0]
        try:
            return datetime.fromtimestamp(int(digits) / 1000, tz=UTC).date()
        except ValueError:
            return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def dec(value: Any, default: str = "0") -> Decimal:
    """A stored or requested amount as Decimal (floats through their shortest repr)."""
    if value is None or isinstance(value, bool):
        return Decimal(default)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(default)


def money(value: Decimal) -> float:
    """An amount for the stored JSON: rounded to the cent (see the module's docstring)."""
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))
