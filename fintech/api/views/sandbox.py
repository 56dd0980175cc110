"""Sandbox only: steer a transfer through the payout outcomes, as a payout partner would.

A live application gets 404 here: the endpoint does not exist for it.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from fintech.api import scopes
from fintech.api.serializers import StrictInputSerializer
from fintech.api.views.base import ApiView
from fintech.api.views.transfers import TransferDetailOutputSerializer
from fintech.core.errors import NotFound
from fintech.transfers.selectors import transfer_get
from fintech.transfers.services import transfer_complete, transfer_fail, transfer_submit


class SandboxTransferSimulateApi(ApiView):
    required_scopes = {"POST": (scopes.TRANSFERS_WRITE,)}

    class InputSerializer(StrictInputSerializer):
        outcome = serializers.ChoiceField(
            choices=["processing", "completed", "failed"],
            help_text="processing (from funded), completed or failed (from processing)",
        )
        reason = serializers.CharField(required=False, max_length=2000)

    @extend_schema(
        operation_id="sandbox_transfers_simulate",
        request=InputSerializer,
        responses=TransferDetailOutputSerializer,
    )
    def post(self, request: Request, transfer_id: str) -> Response:
        if not self.caller.is_sandbox:
            raise NotFound("Simulation exists for sandbox applications only.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        transfer = transfer_get(self.profile, transfer_id)
        actor = self.caller.actor
        outcome = data.validated_data["outcome"]
        reason = data.validated_data.get("reason") or f"sandbox simulation: {outcome}"
        if outcome == "processing":
            moved = transfer_submit(actor=actor, transfer_id=transfer.pk, reason=reason)
        elif outcome == "completed":
            moved = transfer_complete(actor=actor, transfer_id=transfer.pk, reason=reason)
        else:
            moved = transfer_fail(actor=actor, transfer_id=transfer.pk, reason=reason)
        return Response(TransferDetailOutputSerializer.represent(moved))
