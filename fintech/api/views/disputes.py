"""Disputes: customers open one on a paid-out transfer or a wallet funding (its `entry_id` in
the account statement), follow it, and may withdraw it.

The customer sees the state, the deadline and that the money is on hold; never our decision
notes (`decision_reason`) nor the partner's raw answer."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from fintech.api import scopes
from fintech.api.idempotency import idempotent
from fintech.api.pagination import ApiCursorPagination
from fintech.api.serializers import ResponseSerializer, StrictInputSerializer, money
from fintech.api.views.base import ApiView
from fintech.disputes.models import Dispute
from fintech.disputes.selectors import dispute_get, dispute_list
from fintech.disputes.services import FUNDING_REASONS, dispute_open, dispute_withdraw

PAGINATION_PARAMS = ("cursor", "limit")


class DisputeOutputSerializer(ResponseSerializer):
    id = serializers.IntegerField()
    transfer_id = serializers.IntegerField(allow_null=True)
    transfer_reference = serializers.CharField(source="transfer.reference", allow_null=True)
    funding_entry_id = serializers.IntegerField(
        allow_null=True, help_text="the ledger entry of the disputed wallet funding"
    )
    reason = serializers.ChoiceField(choices=Dispute.Reason.choices)
    description = serializers.CharField()
    state = serializers.ChoiceField(choices=Dispute.State.choices)
    currency = serializers.CharField()
    amount = serializers.SerializerMethodField(help_text="the disputed amount")
    on_hold = serializers.BooleanField(
        source="is_open", help_text="the disputed amount is held while the dispute is open"
    )
    respond_by = serializers.DateTimeField(help_text="the next deadline")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)

    def get_amount(self, dispute: Dispute) -> str:
        return money(dispute.amount_minor, dispute.currency)


class DisputeListCreateApi(ApiView):
    # One scope both ways: following a dispute is part of having opened it.
    required_scopes = {"GET": (scopes.DISPUTES_WRITE,), "POST": (scopes.DISPUTES_WRITE,)}
    pagination_class = ApiCursorPagination

    class FilterSerializer(StrictInputSerializer):
        state = serializers.ChoiceField(choices=Dispute.State.choices, required=False)

    class InputSerializer(StrictInputSerializer):
        # Exactly one of the two (the service names both fields when that is not so); a
        # funding is disputed only as money that should not be in the wallet.
        openapi_extra = {
            "oneOf": [
                {"required": ["transfer_id"], "not": {"required": ["funding_entry_id"]}},
                {
                    "required": ["funding_entry_id"],
                    "not": {"required": ["transfer_id"]},
                    "properties": {
                        "reason": {
                            "enum": [
                                r for r in FUNDING_REASONS if r != Dispute.Reason.PARTNER_RETURN
                            ]
                        }
                    },
                },
            ]
        }

        transfer_id = serializers.IntegerField(min_value=1, required=False)
        funding_entry_id = serializers.IntegerField(
            min_value=1, required=False, help_text="`entry_id` of a wallet funding"
        )
        reason = serializers.ChoiceField(
            choices=[r for r in Dispute.Reason.values if r != Dispute.Reason.PARTNER_RETURN]
        )
        description = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    @extend_schema(
        operation_id="disputes_list",
        parameters=[FilterSerializer],
        responses=DisputeOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items() if k not in PAGINATION_PARAMS}
        filters = self.FilterSerializer(data=params)
        filters.is_valid(raise_exception=True)
        return self.paginated(
            dispute_list(self.profile, **filters.validated_data), DisputeOutputSerializer
        )

    @extend_schema(
        operation_id="disputes_create",
        request=InputSerializer,
        responses={201: DisputeOutputSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dispute = dispute_open(actor=self.caller.actor, profile=self.profile, **data.validated_data)
        response = Response(DisputeOutputSerializer.represent(dispute), status=201)
        response["Location"] = f"/api/v1/disputes/{dispute.pk}"
        return response


class DisputeDetailApi(ApiView):
    required_scopes = {"GET": (scopes.DISPUTES_WRITE,)}

    @extend_schema(operation_id="disputes_get", responses=DisputeOutputSerializer)
    def get(self, request: Request, dispute_id: str) -> Response:
        return Response(DisputeOutputSerializer.represent(dispute_get(self.profile, dispute_id)))


class DisputeWithdrawApi(ApiView):
    required_scopes = {"POST": (scopes.DISPUTES_WRITE,)}

    class InputSerializer(StrictInputSerializer):
        reason = serializers.CharField(required=False, max_length=2000)

    @extend_schema(
        operation_id="disputes_withdraw", request=InputSerializer, responses=DisputeOutputSerializer
    )
    @idempotent
    def post(self, request: Request, dispute_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The lookup scopes the id to this business: another one's dispute is a 404.
        dispute = dispute_get(self.profile, dispute_id)
        reason = data.validated_data.get("reason") or "withdrawn by the customer through the API"
        return Response(
            DisputeOutputSerializer.represent(
                dispute_withdraw(
                    actor=self.caller.actor, profile=self.profile, dispute_id=dispute.pk,
                    reason=reason,
                )
            )
        )  # fmt: skip
