"""Serializer building blocks shared by the API views (each view nests its own in/out classes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from fintech.core.money import SUPPORTED_CURRENCIES, format_minor


class StrictInputSerializer(serializers.Serializer):
    """Refuses fields it does not know (400 naming each), so a typo is never silently ignored."""

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


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^[0-9]{1,15}(\.[0-9]{1,4})?$",
        "example": "1000.50",
        "description": "decimal string in major units, at most the currency's decimals",
    }
)
class AmountField(serializers.CharField):
    """A money amount: a JSON string in major units ("1000.50"), never a JSON number (floats
    lose cents). The currency's decimals, sign and size are checked by `parse_amount`."""

    default_error_messages = {"invalid_amount": 'must be a decimal string such as "1000.50"'}

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
