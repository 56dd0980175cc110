"""Serializer building blocks shared by the API views (each view nests its own in/out classes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from fintech.core.money import SUPPORTED_CURRENCIES, amount_pattern, format_minor
from ledger.currency import currency_exponent

# The JSON type each kind of field takes; DRF itself would also read "5" as 5, 5 as "5" and
# "yes" as true, which the OpenAPI document (string, integer, boolean) does not allow.
_JSON_TYPES: tuple[tuple[type[serializers.Field], tuple[type, ...], str], ...] = (
    (serializers.BooleanField, (bool,), "a boolean"),
    (serializers.IntegerField, (int,), "an integer"),
    (serializers.ListField, (list,), "an array"),
    (serializers.DictField, (dict,), "an object"),
    (serializers.CharField, (str,), "a string"),
    (serializers.ChoiceField, (str,), "a string"),
    (serializers.UUIDField, (str,), "a string"),
    (serializers.DateTimeField, (str,), "a string"),
)


def _json_type_error(field: serializers.Field, value: Any) -> str | None:
    """What `value` should have been for `field`, or None if its JSON type fits."""
    if value is None:
        return None  # the field's own allow_null decides
    if getattr(field, "checks_own_type", False):
        return None
    for kind, types, name in _JSON_TYPES:
        if isinstance(field, kind):
            fits = isinstance(value, types) and not (bool not in types and isinstance(value, bool))
            return None if fits else f"must be {name}"
    return None


def _json_type_errors(fields: Mapping[str, serializers.Field], data: Mapping[str, Any]) -> dict:
    errors: dict[str, list[ErrorDetail]] = {}
    for name, field in fields.items():
        if name not in data:
            continue
        value = data[name]
        problem = _json_type_error(field, value)
        child = getattr(field, "child", None)
        if problem is None and child is not None and value is not None:
            items = value.items() if isinstance(value, dict) else enumerate(value)
            problem = next(
                (
                    f"{key}: {issue}"
                    for key, item in items
                    if (issue := _json_type_error(child, item)) is not None
                ),
                None,
            )
        if problem:
            errors[name] = [ErrorDetail(problem, code="invalid_type")]
    return errors


class StrictInputSerializer(serializers.Serializer):
    """Refuses fields it does not know (400 naming each), so a typo is never silently ignored,
    and values of another JSON type than the field's (a number for a string, "5" for an
    integer), as the OpenAPI document says."""

    # Added to the request body's schema: what no single field can say (fintech/api/schema.py).
    openapi_extra: ClassVar[dict[str, Any]] = {}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [ErrorDetail("This field is not accepted.", code="unknown_field")]
                        for name in unknown
                    }
                )
            wrong_types = _json_type_errors(self.fields, data)
            if wrong_types:
                # Reported with every other field's error, in place of what DRF would say of
                # the wrongly typed ones (it would read "5" as 5, say, and say nothing).
                others: dict[str, Any] = {}
                try:
                    super().to_internal_value(data)
                except serializers.ValidationError as exc:
                    others = dict(exc.detail) if isinstance(exc.detail, dict) else {}
                raise serializers.ValidationError({**others, **wrong_types})
        return super().to_internal_value(data)


class ResponseSerializer(serializers.Serializer):
    """Base of the API's response bodies: render with `represent` / `represent_many`.

    They reuse one instance per class and process. DRF builds a serializer's fields (a deepcopy
    of every declared field) on each instantiation, which on a hot endpoint costs more than the
    rendering itself; an output serializer holds no per-call state, so one bound instance
    renders every object. (Method fields must not use `self.context` for the same reason.)
    """

    _prototypes: ClassVar[dict[type[ResponseSerializer], ResponseSerializer]] = {}

    @classmethod
    def _prototype(cls) -> ResponseSerializer:
        prototype = ResponseSerializer._prototypes.get(cls)
        if prototype is None:
            prototype = ResponseSerializer._prototypes[cls] = cls()
        return prototype

    @classmethod
    def represent(cls, instance: Any) -> dict[str, Any]:
        return dict(cls._prototype().to_representation(instance))

    @classmethod
    def represent_many(cls, instances: Iterable[Any]) -> list[dict[str, Any]]:
        prototype = cls._prototype()
        return [dict(prototype.to_representation(item)) for item in instances]


@extend_schema_field(
    {
        "type": "string",
        "enum": list(SUPPORTED_CURRENCIES),
        "description": "ISO 4217 code of a supported currency",
    }
)
class CurrencyField(serializers.CharField):
    """A currency code. Documented as the supported ones; checked by `validate_currency` (whose
    `unsupported_currency` error lists them), not here."""


MAX_DECIMALS = max(currency_exponent(code) for code in SUPPORTED_CURRENCIES)


def amount_schema(decimals: int = MAX_DECIMALS) -> dict[str, Any]:
    return {"type": "string", "pattern": amount_pattern(decimals)}


@extend_schema_field(
    {
        **amount_schema(),
        "example": "1000.50",
        "description": (
            "decimal string in major units: ASCII digits and an optional point, at most the "
            "currency's decimals (0 to 3), positive, at most 1000000000; no sign, spaces or "
            "exponent"
        ),
    }
)
class AmountField(serializers.CharField):
    """A money amount: a JSON string in major units ("1000.50"), never a JSON number (floats
    lose cents). The currency's decimals, sign and size are checked by `parse_amount`."""

    default_error_messages = {"invalid_amount": 'must be a decimal string such as "1000.50"'}
    checks_own_type = True  # a number is an `invalid_amount`, the code clients know

    def __init__(self, **kwargs: Any) -> None:
        # Not trimmed: " 10.00 " is refused by parse_amount, not quietly read as 10.00.
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid_amount")
        return str(super().to_internal_value(data))


class ProblemErrorSerializer(serializers.Serializer):
    field = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as every 4xx and 5xx of the API is answered (schema only)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField()
    code = serializers.CharField(help_text="stable machine code: branch on this")
    request_id = serializers.CharField()
    # Shadows Serializer.errors on the class only; DRF moves declared fields off the class.
    errors = ProblemErrorSerializer(many=True)  # type: ignore[assignment]


def money(amount_minor: int, currency: str) -> str:
    """Minor units to the API's decimal string in major units ("1000.50")."""
    return format_minor(amount_minor, currency)
