"""Transfers: create from a quote and a beneficiary, list, read, fund from balance, cancel."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from fintech.api import scopes
from fintech.api.idempotency import idempotent
from fintech.api.pagination import ApiCursorPagination
from fintech.api.serializers import CurrencyField, ResponseSerializer, StrictInputSerializer, money
from fintech.api.views.base import ApiView
from fintech.disputes.selectors import transfer_on_hold
from fintech.monitoring.selectors import transfer_compliance_held
from fintech.transfers.models import Transfer
from fintech.transfers.selectors import transfer_get, transfer_list, transfer_timeline
from fintech.transfers.services import transfer_cancel, transfer_create, transfer_fund

PAGINATION_PARAMS = ("cursor", "limit")


class TransferOutputSerializer(ResponseSerializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    customer_transaction_id = serializers.CharField()
    state = serializers.ChoiceField(choices=Transfer.State.choices)
    quote_id = serializers.UUIDField()
    beneficiary_id = serializers.IntegerField()
    source_currency = serializers.CharField()
    source_amount = serializers.SerializerMethodField(help_text="what you pay, fee included")
    target_currency = serializers.CharField()
    target_amount = serializers.SerializerMethodField(help_text="what the beneficiary receives")
    fee = serializers.SerializerMethodField(help_text="in the source currency")
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    funded_at = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    refunded_at = serializers.DateTimeField(allow_null=True)

    def get_source_amount(self, transfer: Transfer) -> str:
        return money(transfer.source_amount_minor, transfer.source_currency)

    def get_target_amount(self, transfer: Transfer) -> str:
        return money(transfer.target_amount_minor, transfer.target_currency)

    def get_fee(self, transfer: Transfer) -> str:
        return money(transfer.fee_minor, transfer.source_currency)


class TransitionSerializer(ResponseSerializer):
    transition = serializers.CharField()
    from_state = serializers.CharField(source="source_state")
    to_state = serializers.CharField(source="target_state")
    occurred_at = serializers.DateTimeField()


class TransferDetailOutputSerializer(TransferOutputSerializer):
    timeline = serializers.SerializerMethodField()
    on_hold = serializers.SerializerMethodField(
        help_text="the transfer is held (a dispute is open, or compliance holds it); the "
        "reason is not shown"
    )

    def get_on_hold(self, transfer: Transfer) -> bool:
        # Compliance first: on a transfer just created it is known without a query.
        return transfer_compliance_held(transfer) or transfer_on_hold(transfer_id=transfer.pk)

    def get_timeline(self, transfer: Transfer) -> list[dict[str, Any]]:
        return TransitionSerializer.represent_many(transfer_timeline(transfer))


def _transfer_response(transfer: Transfer, status: int = 200) -> Response:
    return Response(TransferDetailOutputSerializer.represent(transfer), status=status)


class TransferListCreateApi(ApiView):
    required_scopes = {"GET": (scopes.TRANSFERS_READ,), "POST": (scopes.TRANSFERS_WRITE,)}
    pagination_class = ApiCursorPagination

    class FilterSerializer(StrictInputSerializer):
        state = serializers.ChoiceField(choices=Transfer.State.choices, required=False)
        currency = CurrencyField(required=False, help_text="source or target currency")
        created_from = serializers.DateTimeField(required=False, help_text="inclusive")
        created_to = serializers.DateTimeField(required=False, help_text="exclusive")

    class InputSerializer(StrictInputSerializer):
        quote_id = serializers.UUIDField()
        beneficiary_id = serializers.IntegerField(min_value=1)
        customer_transaction_id = serializers.CharField(
            max_length=100, help_text="your own unique id for this payment"
        )

    @extend_schema(
        operation_id="transfers_list",
        parameters=[FilterSerializer],
        responses=TransferOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items() if k not in PAGINATION_PARAMS}
        filters = self.FilterSerializer(data=params)
        filters.is_valid(raise_exception=True)
        transfers = transfer_list(self.profile, **filters.validated_data)
        return self.paginated(transfers, TransferOutputSerializer)

    @extend_schema(
        operation_id="transfers_create",
        request=InputSerializer,
        responses={201: TransferDetailOutputSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        transfer = transfer_create(
            actor=self.caller.actor, profile=self.profile, **data.validated_data
        )
        response = _transfer_response(transfer, status=201)
        response["Location"] = f"/api/v1/transfers/{transfer.pk}"
        return response


class TransferDetailApi(ApiView):
    required_scopes = {"GET": (scopes.TRANSFERS_READ,)}

    @extend_schema(operation_id="transfers_get", responses=TransferDetailOutputSerializer)
    def get(self, request: Request, transfer_id: str) -> Response:
        return _transfer_response(transfer_get(self.profile, transfer_id))


class TransferFundApi(ApiView):
    required_scopes = {"POST": (scopes.TRANSFERS_WRITE,)}

    @extend_schema(
        operation_id="transfers_fund", request=None, responses=TransferDetailOutputSerializer
    )
    @idempotent
    def post(self, request: Request, transfer_id: str) -> Response:
        # The lookup scopes the id to this business: another one's transfer is a 404.
        transfer = transfer_get(self.profile, transfer_id)
        return _transfer_response(transfer_fund(actor=self.caller.actor, transfer_id=transfer.pk))


class TransferCancelApi(ApiView):
    required_scopes = {"POST": (scopes.TRANSFERS_WRITE,)}

    class InputSerializer(StrictInputSerializer):
        reason = serializers.CharField(required=False, max_length=2000)

    @extend_schema(
        operation_id="transfers_cancel",
        request=InputSerializer,
        responses=TransferDetailOutputSerializer,
    )
    @idempotent
    def post(self, request: Request, transfer_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        transfer = transfer_get(self.profile, transfer_id)
        reason = data.validated_data.get("reason") or "cancelled by the customer through the API"
        return _transfer_response(
            transfer_cancel(actor=self.caller.actor, transfer_id=transfer.pk, reason=reason)
        )
