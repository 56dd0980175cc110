"""Exchange rates and quotes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from fintech.api import scopes
from fintech.api.idempotency import idempotent
from fintech.api.schema import any_of_values
from fintech.api.serializers import (
    AmountField,
    CurrencyField,
    ResponseSerializer,
    StrictInputSerializer,
    amount_schema,
    money,
)
from fintech.api.views.base import ApiView
from fintech.core.money import SUPPORTED_CURRENCIES, validate_currency
from fintech.quotes.models import Quote
from fintech.quotes.pricing import customer_rate
from fintech.quotes.rates import get_rate_provider
from fintech.quotes.selectors import quote_get
from fintech.quotes.services import quote_create
from ledger.currency import currency_exponent


class RatesApi(ApiView):
    required_scopes = {"GET": (scopes.RATES_READ,)}

    class FilterSerializer(StrictInputSerializer):
        # Named after the query parameters; DRF moves declared fields off the class, so they
        # do not really shadow Field.source at runtime.
        source = CurrencyField()  # type: ignore[assignment]
        target = CurrencyField()

        def validate_source(self, value: str) -> str:
            return validate_currency(value, field="source")

        def validate_target(self, value: str) -> str:
            return validate_currency(value, field="target")

    class OutputSerializer(ResponseSerializer):
        source = serializers.CharField()  # type: ignore[assignment]
        target = serializers.CharField()
        mid_rate = serializers.CharField(help_text="target per source at mid-market")
        customer_rate = serializers.CharField(help_text="target per source after our margin")
        rate_source = serializers.CharField()
        rate_time = serializers.DateTimeField()

    @extend_schema(
        operation_id="rates_get", parameters=[FilterSerializer], responses=OutputSerializer
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        source, target = filters.validated_data["source"], filters.validated_data["target"]
        rate = get_rate_provider().mid_rate(source, target)
        # The same currency both sides is a valid question (the document cannot relate two
        # query parameters): its rate is 1, with no conversion and so no margin.
        customer = rate.rate if source == target else customer_rate(rate.rate)
        return Response(
            self.OutputSerializer.represent(
                {
                    "source": source,
                    "target": target,
                    "mid_rate": str(rate.rate),
                    "customer_rate": str(customer),
                    "rate_source": rate.source,
                    "rate_time": rate.at,
                }
            )
        )


class QuoteOutputSerializer(ResponseSerializer):
    id = serializers.UUIDField()
    source_currency = serializers.CharField()
    target_currency = serializers.CharField()
    fixed_side = serializers.CharField()
    source_amount = serializers.SerializerMethodField(help_text="what you pay, fee included")
    target_amount = serializers.SerializerMethodField(help_text="what the beneficiary receives")
    fee = serializers.SerializerMethodField(help_text="in the source currency")
    rate = serializers.CharField(source="customer_rate")
    mid_rate = serializers.CharField()
    rate_source = serializers.CharField()
    rate_time = serializers.DateTimeField()
    rounding_mode = serializers.CharField()
    expires_at = serializers.DateTimeField()
    delivery_estimate = serializers.DateTimeField()
    created_at = serializers.DateTimeField()

    def get_source_amount(self, quote: Quote) -> str:
        return money(quote.source_amount_minor, quote.source_currency)

    def get_target_amount(self, quote: Quote) -> str:
        return money(quote.target_amount_minor, quote.target_currency)

    def get_fee(self, quote: Quote) -> str:
        return money(quote.fee_minor, quote.source_currency)


def _by_decimals() -> dict[int, list[str]]:
    groups: dict[int, list[str]] = {}
    for code in SUPPORTED_CURRENCIES:
        groups.setdefault(currency_exponent(code), []).append(code)
    return groups


def _quote_input_rules() -> dict[str, Any]:
    """What quote_create checks across fields, in the schema: exactly one of the amounts, in
    its side's currency's decimals, and two different currencies."""
    one_amount = [
        {
            "required": [f"{side}_amount"],
            "not": {"required": [f"{other}_amount"]},
            "properties": {
                f"{side}_currency": any_of_values(codes),
                f"{side}_amount": amount_schema(decimals),
            },
        }
        for side, other in (("source", "target"), ("target", "source"))
        for decimals, codes in sorted(_by_decimals().items())
    ]
    same_currency = [
        {
            "properties": {
                "source_currency": any_of_values([code]),
                "target_currency": any_of_values([code]),
            }
        }
        for code in SUPPORTED_CURRENCIES
    ]
    return {"oneOf": one_amount, "not": {"anyOf": same_currency}}


class QuoteCreateApi(ApiView):
    required_scopes = {"POST": (scopes.QUOTES_WRITE,)}

    class InputSerializer(StrictInputSerializer):
        openapi_extra = _quote_input_rules()

        source_currency = CurrencyField()
        target_currency = CurrencyField()
        source_amount = AmountField(
            required=False, help_text='decimal string in major units, e.g. "1000.50"'
        )
        target_amount = AmountField(required=False, help_text="give one amount only")

    @extend_schema(
        operation_id="quotes_create",
        request=InputSerializer,
        responses={201: QuoteOutputSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        quote = quote_create(actor=self.caller.actor, profile=self.profile, **data.validated_data)
        return Response(
            QuoteOutputSerializer.represent(quote),
            status=201,
            headers={"Location": f"/api/v1/quotes/{quote.pk}"},
        )


class QuoteDetailApi(ApiView):
    # There is no quotes:read: a quote is read by whoever may create one.
    required_scopes = {"GET": (scopes.QUOTES_WRITE,)}

    @extend_schema(operation_id="quotes_get", responses=QuoteOutputSerializer)
    def get(self, request: Request, quote_id: str) -> Response:
        return Response(QuoteOutputSerializer.represent(quote_get(self.profile, quote_id)))
