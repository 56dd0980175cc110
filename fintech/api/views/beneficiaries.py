"""Beneficiaries: who the business pays. Bank details are write-only; reads show them masked."""

from __future__ import annotations

from typing import Any

import pycountry
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from fintech.api import scopes
from fintech.api.idempotency import idempotent
from fintech.api.pagination import ApiCursorPagination
from fintech.api.schema import NOT_BLANK, any_of_values
from fintech.api.serializers import CurrencyField, ResponseSerializer, StrictInputSerializer
from fintech.api.views.base import ApiView
from fintech.beneficiaries.models import Beneficiary
from fintech.beneficiaries.selectors import beneficiaries_for_profile, beneficiary_get_for_profile
from fintech.beneficiaries.services import beneficiary_create, beneficiary_deactivate
from fintech.beneficiaries.validators import SCHEME_KEYS
from fintech.core.errors import FieldError, ValidationFailed

COUNTRY_CODES = sorted(country.alpha_2 for country in pycountry.countries)


class BeneficiaryOutputSerializer(ResponseSerializer):
    id = serializers.IntegerField()
    holder_name = serializers.CharField()
    currency = serializers.CharField()
    country = serializers.CharField()
    scheme = serializers.ChoiceField(choices=Beneficiary.Scheme.choices)
    account = serializers.CharField(source="masked_details", help_text="masked bank details")
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    deactivated_at = serializers.DateTimeField(allow_null=True)


def _details_rules() -> dict[str, Any]:
    """Each scheme's bank detail keys, in the schema: exactly those, each a non-blank string.
    Their checksums and formats stay the validators' (fintech/beneficiaries/validators.py)."""
    return {
        "oneOf": [
            {
                "properties": {
                    "scheme": any_of_values([scheme]),
                    "details": {
                        "type": "object",
                        "required": list(keys),
                        "properties": {
                            key: {"type": "string", "pattern": NOT_BLANK} for key in keys
                        },
                        "additionalProperties": False,
                    },
                }
            }
            for scheme, keys in SCHEME_KEYS.items()
        ]
    }


class BeneficiaryListCreateApi(ApiView):
    required_scopes = {
        "GET": (scopes.BENEFICIARIES_READ,),
        "POST": (scopes.BENEFICIARIES_WRITE,),
    }
    pagination_class = ApiCursorPagination

    class InputSerializer(StrictInputSerializer):
        openapi_extra = _details_rules()

        holder_name = serializers.CharField(max_length=140)
        currency = CurrencyField()
        country = serializers.ChoiceField(
            choices=COUNTRY_CODES, help_text="ISO 3166-1 alpha-2 of the bank, upper case"
        )
        scheme = serializers.ChoiceField(choices=Beneficiary.Scheme.choices)
        details = serializers.DictField(
            child=serializers.CharField(),
            help_text=(
                "per scheme: iban {iban, bic}; gb_sort_code {sort_code, account_number}; "
                "us_aba {routing_number, account_number, account_type}; "
                "in_ifsc {ifsc, account_number}"
            ),
        )

    @extend_schema(
        operation_id="beneficiaries_list",
        parameters=[
            OpenApiParameter(
                "include_inactive", bool, description="also list deactivated beneficiaries"
            )
        ],
        responses=BeneficiaryOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("include_inactive", "false").lower()
        if raw not in ("true", "false"):
            raise ValidationFailed(
                [FieldError("include_inactive", "invalid", "must be true or false")]
            )
        beneficiaries = beneficiaries_for_profile(profile=self.profile, active_only=raw == "false")
        return self.paginated(beneficiaries, BeneficiaryOutputSerializer)

    @extend_schema(
        operation_id="beneficiaries_create",
        request=InputSerializer,
        responses={201: BeneficiaryOutputSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        beneficiary = beneficiary_create(
            actor=self.caller.actor, profile=self.profile, **data.validated_data
        )
        return Response(
            BeneficiaryOutputSerializer.represent(beneficiary),
            status=201,
            headers={"Location": f"/api/v1/beneficiaries/{beneficiary.pk}"},
        )


class BeneficiaryDetailApi(ApiView):
    required_scopes = {"GET": (scopes.BENEFICIARIES_READ,)}

    @extend_schema(operation_id="beneficiaries_get", responses=BeneficiaryOutputSerializer)
    def get(self, request: Request, beneficiary_id: str) -> Response:
        beneficiary = beneficiary_get_for_profile(
            profile=self.profile, beneficiary_id=beneficiary_id
        )
        return Response(BeneficiaryOutputSerializer.represent(beneficiary))


class BeneficiaryDeactivateApi(ApiView):
    required_scopes = {"POST": (scopes.BENEFICIARIES_WRITE,)}

    class InputSerializer(StrictInputSerializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    @extend_schema(
        operation_id="beneficiaries_deactivate",
        request=InputSerializer,
        responses=BeneficiaryOutputSerializer,
    )
    def post(self, request: Request, beneficiary_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The lookup scopes the id to this business: another one's beneficiary is a 404.
        beneficiary = beneficiary_get_for_profile(
            profile=self.profile, beneficiary_id=beneficiary_id
        )
        deactivated = beneficiary_deactivate(
            actor=self.caller.actor,
            beneficiary=beneficiary.pk,
            reason=data.validated_data.get("reason", ""),
        )
        return Response(BeneficiaryOutputSerializer.represent(deactivated))
