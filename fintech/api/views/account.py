"""The business the token acts for: profile, balances, wallet statement, compliance status."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from fintech.api import scopes
from fintech.api.selectors import profile_balances, profile_statement
from fintech.api.serializers import CurrencyField, ResponseSerializer, StrictInputSerializer, money
from fintech.api.views.base import ApiView
from fintech.compliance.selectors import compliance_status_for_profile, profile_can_transact
from fintech.core.money import validate_currency
from fintech.customers.services import profile_account_manager_set
from ledger.selectors import AccountSummary


class ProfileApi(ApiView):
    required_scopes = {"GET": (scopes.PROFILES_READ,)}

    class OutputSerializer(ResponseSerializer):
        id = serializers.IntegerField()
        kind = serializers.CharField()
        legal_name = serializers.CharField()
        registration_number = serializers.CharField()
        country = serializers.CharField()
        address_line1 = serializers.CharField()
        address_line2 = serializers.CharField()
        city = serializers.CharField()
        postal_code = serializers.CharField()
        email = serializers.EmailField()
        is_sandbox = serializers.BooleanField()
        created_at = serializers.DateTimeField()

    @extend_schema(operation_id="profile_get", responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer.represent(self.profile))


class BalanceSerializer(ResponseSerializer):
    currency = serializers.CharField()
    balance = serializers.CharField(help_text="posted balance, decimal string in major units")
    available = serializers.CharField(help_text="balance minus funds reserved for transfers")
    reserved = serializers.CharField()

    def to_representation(self, instance: AccountSummary) -> dict[str, Any]:
        currency = instance.currency
        return {
            "currency": currency,
            "balance": money(instance.posted_minor, currency),
            "available": money(instance.available_minor, currency),
            "reserved": money(instance.held_minor, currency),
        }


class BalancesApi(ApiView):
    required_scopes = {"GET": (scopes.BALANCES_READ,)}

    class OutputSerializer(ResponseSerializer):
        results = BalanceSerializer(many=True)

    @extend_schema(operation_id="balances_list", responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        wallets = profile_balances(profile=self.profile)
        return Response({"results": BalanceSerializer.represent_many(wallets)})


class StatementLineSerializer(ResponseSerializer):
    entry_id = serializers.IntegerField()
    effective_at = serializers.DateTimeField()
    description = serializers.CharField()
    amount = serializers.CharField(help_text="signed: positive is money in")
    balance_after = serializers.CharField()


class StatementApi(ApiView):
    required_scopes = {"GET": (scopes.LEDGER_READ,)}

    class FilterSerializer(StrictInputSerializer):
        currency = CurrencyField()
        start = serializers.DateTimeField(required=False, help_text="inclusive")
        end = serializers.DateTimeField(required=False, help_text="exclusive")

        def validate_currency(self, value: str) -> str:
            return validate_currency(value, field="currency")

    class OutputSerializer(ResponseSerializer):
        currency = serializers.CharField()
        start = serializers.DateTimeField(allow_null=True)
        end = serializers.DateTimeField(allow_null=True)
        opening_balance = serializers.CharField()
        closing_balance = serializers.CharField()
        lines = StatementLineSerializer(many=True)

    @extend_schema(
        operation_id="ledger_statement",
        parameters=[FilterSerializer],
        responses=OutputSerializer,
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        currency: str = filters.validated_data["currency"]
        start = filters.validated_data.get("start")
        end = filters.validated_data.get("end")
        statement = profile_statement(profile=self.profile, currency=currency, start=start, end=end)
        # No wallet in that currency yet: an empty statement, not a 404 (the currency is valid).
        opening = statement.opening_minor if statement else 0
        closing = statement.closing_minor if statement else 0
        lines = statement.lines if statement else []
        payload = {
            "currency": currency,
            "start": start,
            "end": end,
            "opening_balance": money(opening, currency),
            "closing_balance": money(closing, currency),
            "lines": [
                {
                    "entry_id": line.entry_id,
                    "effective_at": line.effective_at,
                    "description": line.memo,
                    "amount": money(line.amount_minor, currency),
                    "balance_after": money(line.running_minor, currency),
                }
                for line in lines
            ],
        }
        return Response(self.OutputSerializer.represent(payload))


class ComplianceApi(ApiView):
    required_scopes = {"GET": (scopes.COMPLIANCE_READ,)}

    class OutputSerializer(ResponseSerializer):
        state = serializers.CharField()
        review_required = serializers.BooleanField()
        can_transact = serializers.BooleanField()
        submitted_at = serializers.DateTimeField(allow_null=True)
        decided_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(operation_id="compliance_get", responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        status = compliance_status_for_profile(profile=self.profile)
        # The review reason is an internal note (e.g. transaction monitoring): not shown.
        return Response(
            self.OutputSerializer.represent(
                {
                    "state": status.state,
                    "review_required": status.review_required,
                    "can_transact": profile_can_transact(profile=self.profile),
                    "submitted_at": status.submitted_at,
                    "decided_at": status.decided_at,
                }
            )
        )


class CrmAccountManagerApi(ApiView):
    """What a CRM connector may do with its `crm:write` credential: say who manages the
    business. It reads nothing financial (no other scope comes with it)."""

    required_scopes = {"POST": (scopes.CRM_WRITE,)}

    class InputSerializer(StrictInputSerializer):
        email = serializers.EmailField(allow_blank=True)
        name = serializers.CharField(max_length=200, allow_blank=True)

    class OutputSerializer(ResponseSerializer):
        email = serializers.CharField()
        name = serializers.CharField()
        changed = serializers.BooleanField()

    @extend_schema(
        operation_id="crm_account_manager_set", request=InputSerializer, responses=OutputSerializer
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile, changed = profile_account_manager_set(
            actor=self.caller.actor,
            profile_id=self.profile.pk,
            email=data.validated_data["email"],
            name=data.validated_data["name"],
            reason="set over the API (crm:write)",
        )
        return Response(
            self.OutputSerializer.represent(
                {
                    "email": profile.account_manager_email,
                    "name": profile.account_manager_name,
                    "changed": changed,
                }
            )
        )
