"""Intuit's answer shapes: `{"<Entity>": {...}, "time": ...}` and Faults.

A Fault is `{"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type"}, "time"}`:
ValidationFault (400: a field, a reference, a business rule; 5010 a stale SyncToken),
AuthenticationFault (401), ThrottleExceeded (429), SystemFault (5xx). Codes are Intuit's:
2010 unsupported property, 2020 required field missing, 2050 bad string length, 2170
invalid enumeration, 610 object not found (or inactive), 5010 stale object, 6000 business
validation, 6240 duplicate name, 3200 authentication, 003001 throttled.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.http import JsonResponse
from django.utils import timezone

from integrations.simulators.common import json_safe


def intuit_time(moment: datetime | None = None) -> str:
    """Intuit's timestamps: ISO 8601 with milliseconds and the offset (`...T10:00:00.123Z`
    style, here `+00:00`), as MetaData and `time` carry them."""
    at = (moment or timezone.now()).astimezone(UTC)
    return at.isoformat(timespec="milliseconds")


def answer(payload: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse({**json_safe(payload), "time": intuit_time()}, status=status)


class Fault(Exception):
    """A refusal in Intuit's Fault shape; raised anywhere below a view, answered by the gate."""

    def __init__(
        self,
        message: str,
        detail: str,
        *,
        code: str = "6000",
        element: str = "",
        kind: str = "ValidationFault",
        status: int = 400,
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.message, self.detail, self.code = message, detail, code
        self.element, self.kind, self.status = element, kind, status

    def response(self) -> JsonResponse:
        error = {"Message": self.message, "Detail": self.detail, "code": self.code}
        if self.element:
            error["element"] = self.element
        return JsonResponse(
            {"Fault": {"Error": [error], "type": self.kind}, "time": intuit_time()},
            status=self.status,
        )


# Intuit's validation faults about one element: (code, Message, Detail template).
VALIDATION: dict[str, tuple[str, str, str]] = {
    "business": (
        "6000",
        "A business validation error has occurred while processing your request",
        "Business Validation Error: {detail}",
    ),
    "required": (
        "2020",
        "Required param missing, need to supply the required value for the API",
        "Required parameter {element} is missing in the request",
    ),
    "unsupported": (
        "2010",
        "Request has invalid or unsupported property",
        "Property Name:{element} specified is unsupported or invalid",
    ),
    "enum": ("2170", "Invalid Enumeration", "Invalid Enumeration : {detail} for {element}"),
    "length": (
        "2050",
        "String length is either shorter or longer than supported by specification",
        "String length specified does not match the supported length. Min:0 Max:{detail} supported",
    ),
    "number": ("2040", "Invalid Number", "Invalid Number : {element} is not a number"),
    "not_found": (
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive or "
        "deleted: {detail}",
    ),
}


def validation(kind: str, element: str, detail: object = "") -> Fault:
    code, message, template = VALIDATION[kind]
    return Fault(
        message, template.format(element=element, detail=detail), code=code, element=element
    )


def business(detail: str, element: str = "") -> Fault:
    return validation("business", element, detail)


def required(element: str) -> Fault:
    return validation("required", element)


def unsupported(element: str) -> Fault:
    return validation("unsupported", element)


def invalid_enum(element: str, value: Any, allowed: Any) -> Fault:
    return validation("enum", element, f"{value}; one of {', '.join(sorted(allowed))}")


def too_long(element: str, limit: int) -> Fault:
    return validation("length", element, limit)


def invalid_number(element: str) -> Fault:
    return validation("number", element)


def not_found(entity: str, object_id: str, element: str = "") -> Fault:
    return validation("not_found", element, f"{entity} {object_id}")


def stale(entity: str, object_id: str) -> Fault:
    return Fault(
        "Stale Object Error",
        f"Stale Object Error : You and another user were working on the same thing "
        f"({entity} {object_id}); the SyncToken sent is not the latest",
        code="5010",
    )


def duplicate_name(name: str) -> Fault:
    return Fault(
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : {name}",
        code="6240",
        element="DisplayName",
    )


def authentication(detail: str = "Token invalid") -> Fault:
    return Fault(
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        detail,
        code="3200",
        kind="AuthenticationFault",
        status=401,
    )


def throttled(detail: str) -> Fault:
    return Fault(
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        detail,
        code="003001",
        kind="ThrottleExceeded",
        status=429,
    )


def system(detail: str = "The sandbox was steered to fail this call") -> Fault:
    return Fault(
        "An application error has occurred while processing your request",
        f"System Failure Error: {detail}",
        code="10000",
        kind="SystemFault",
        status=503,
    )


def query_error(detail: str) -> Fault:
    return Fault(
        "Error parsing query", f"QueryParserError: {detail}", code="4000", kind="ValidationFault"
    )
