"""ERP payments: vendors (synced into beneficiaries), payment requests and batches, approvals.
See docs/erp.md."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from fintech.api import scopes
from fintech.api.idempotency import idempotent
from fintech.api.pagination import ApiCursorPagination
from fintech.api.parsers import CheckedJSONParser, RawUpload, RawXmlParser, TextXmlParser
from fintech.api.serializers import (
    AmountField,
    CurrencyField,
    ResponseSerializer,
    StrictInputSerializer,
    money,
)
from fintech.api.views.base import ApiView
from fintech.api.views.beneficiaries import COUNTRY_CODES, _details_rules
from fintech.beneficiaries.models import Beneficiary
from fintech.core.errors import DomainError, FieldError, ValidationFailed
from fintech.core.money import SUPPORTED_CURRENCIES
from fintech.payments.cash import cash_position
from fintech.payments.export import payments_export_csv, payments_export_rows
from fintech.payments.models import PaymentBatch, PaymentFileIntake, PaymentRequest, Vendor
from fintech.payments.selectors import (
    payment_batch_get_for_profile,
    payment_batch_states,
    payment_file_progress,
    payment_request_get_for_profile,
    payment_requests_for_profile,
    vendor_get_for_profile,
    vendors_for_profile,
)
from fintech.payments.services.approvals import (
    ApprovalRefused,
    approval_failure_record,
    payment_request_approve,
    payment_request_reject,
)
from fintech.payments.services.files import payment_batch_pain002, payment_file_import
from fintech.payments.services.lifecycle import payment_request_payload
from fintech.payments.services.requests import payment_batch_create, payment_request_create
from fintech.payments.services.vendors import vendor_deactivate, vendor_upsert
from fintech.payments.validation import PaymentRequestInput, PaymentRequestInvalid

# ---------------------------------------------------------------------------------------------
# Vendors


class VendorOutputSerializer(ResponseSerializer):
    id = serializers.IntegerField()
    erp_vendor_id = serializers.CharField()
    name = serializers.CharField()
    beneficiary_id = serializers.IntegerField()
    account = serializers.CharField(source="beneficiary.masked_details")
    currency = serializers.CharField(source="beneficiary.currency")
    is_active = serializers.BooleanField()
    needs_approval = serializers.BooleanField(
        help_text="new or changed bank details: the next payment waits for a second approver"
    )
    bank_details_changed_at = serializers.DateTimeField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class VendorResultSerializer(ResponseSerializer):
    outcome = serializers.ChoiceField(choices=["created", "updated", "renamed", "unchanged"])
    vendor = VendorOutputSerializer()


class VendorInputSerializer(StrictInputSerializer):
    openapi_extra = _details_rules()

    erp_vendor_id = serializers.CharField(max_length=100, help_text="your ERP's vendor id")
    name = serializers.CharField(max_length=140)
    holder_name = serializers.CharField(max_length=140)
    currency = CurrencyField()
    country = serializers.ChoiceField(choices=COUNTRY_CODES)
    scheme = serializers.ChoiceField(choices=Beneficiary.Scheme.choices)
    details = serializers.DictField(child=serializers.CharField())


def _vendor_result(result: Any) -> dict[str, Any]:
    return {
        "outcome": result.outcome,
        "vendor": VendorOutputSerializer.represent(result.vendor),
    }


class VendorListUpsertApi(ApiView):
    required_scopes = {"GET": (scopes.VENDORS_WRITE,), "POST": (scopes.VENDORS_WRITE,)}
    pagination_class = ApiCursorPagination

    @extend_schema(operation_id="vendors_list", responses=VendorOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return self.paginated(vendors_for_profile(profile=self.profile), VendorOutputSerializer)

    @extend_schema(
        operation_id="vendors_upsert",
        request=VendorInputSerializer,
        responses={200: VendorResultSerializer, 201: VendorResultSerializer},
        description="Create the vendor, or update it by its ERP id. A bank-detail change is "
        "validated, makes a new beneficiary and flags the vendor for re-approval.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = VendorInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = vendor_upsert(actor=self.caller.actor, profile=self.profile, **data.validated_data)
        return Response(_vendor_result(result), status=201 if result.outcome == "created" else 200)


class VendorBulkApi(ApiView):
    required_scopes = {"POST": (scopes.VENDORS_WRITE,)}

    class InputSerializer(StrictInputSerializer):
        # A ListField (not many=True): the document then says minItems and maxItems too.
        vendors = serializers.ListField(
            child=VendorInputSerializer(), min_length=1, max_length=1000
        )

    class OutputSerializer(ResponseSerializer):
        results = VendorResultSerializer(many=True)

    @extend_schema(
        operation_id="vendors_bulk_upsert",
        request=InputSerializer,
        responses=OutputSerializer,
        description="Up to 1,000 vendors, all or nothing: every item's reasons under "
        "`vendors[i].`, or every vendor synced.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        results = []
        errors: list[FieldError] = []
        for index, item in enumerate(data.validated_data["vendors"]):
            try:
                results.append(vendor_upsert(actor=self.caller.actor, profile=self.profile, **item))
            except DomainError as exc:
                errors.extend(
                    FieldError(f"vendors[{index}].{e.field}", e.code, e.message)
                    for e in (exc.fields or [FieldError("", exc.code, exc.message)])
                )
        if errors:
            # Nothing half-created: the request's transaction rolls back with this error.
            raise PaymentRequestInvalid(errors, message="some vendors cannot be synced")
        return Response({"results": [_vendor_result(r) for r in results]})


class VendorDetailApi(ApiView):
    required_scopes = {"GET": (scopes.VENDORS_WRITE,)}

    @extend_schema(operation_id="vendors_get", responses=VendorOutputSerializer)
    def get(self, request: Request, erp_vendor_id: str) -> Response:
        vendor = vendor_get_for_profile(profile=self.profile, erp_vendor_id=erp_vendor_id)
        return Response(VendorOutputSerializer.represent(vendor))


class VendorDeactivateApi(ApiView):
    required_scopes = {"POST": (scopes.VENDORS_WRITE,)}

    class InputSerializer(StrictInputSerializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    @extend_schema(
        operation_id="vendors_deactivate", request=InputSerializer, responses=VendorOutputSerializer
    )
    @idempotent
    def post(self, request: Request, erp_vendor_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        vendor_get_for_profile(profile=self.profile, erp_vendor_id=erp_vendor_id)
        vendor = vendor_deactivate(
            actor=self.caller.actor,
            profile=self.profile,
            erp_vendor_id=erp_vendor_id,
            reason=data.validated_data.get("reason", ""),
        )
        vendor.refresh_from_db()
        return Response(VendorOutputSerializer.represent(Vendor.objects.get(pk=vendor.pk)))


# ---------------------------------------------------------------------------------------------
# Payment requests


class PaymentRequestInputSerializer(StrictInputSerializer):
    openapi_extra = {
        # Exactly one payee: your ERP's vendor id, or one of our beneficiary ids.
        "oneOf": [
            {"required": ["vendor_id"], "not": {"required": ["beneficiary_id"]}},
            {"required": ["beneficiary_id"], "not": {"required": ["vendor_id"]}},
        ]
    }

    erp_payment_id = serializers.CharField(max_length=100, help_text="your ERP's payment id")
    erp_approval_ref = serializers.CharField(max_length=100, required=False, allow_blank=True)
    erp_approver = serializers.CharField(max_length=140, required=False, allow_blank=True)
    erp_approved_at = serializers.DateTimeField(required=False)
    vendor_id = serializers.CharField(max_length=100, required=False, help_text="ERP vendor id")
    beneficiary_id = serializers.IntegerField(min_value=1, required=False)
    amount = AmountField()
    currency = CurrencyField(help_text="the currency of `amount`")
    amount_side = serializers.ChoiceField(
        choices=PaymentRequest.AmountSide.choices,
        required=False,
        help_text="target (default): the vendor receives `amount`; source: you pay `amount`",
    )
    source_currency = CurrencyField(help_text="the wallet currency you pay from")
    due_date = serializers.DateField(help_text="due or value date")
    bill_reference = serializers.CharField(max_length=140, required=False, allow_blank=True)
    remittance_reference = serializers.CharField(max_length=140, required=False, allow_blank=True)


def _input(validated: dict[str, Any]) -> PaymentRequestInput:
    data = dict(validated)
    data.setdefault("amount_side", PaymentRequest.AmountSide.TARGET)
    return PaymentRequestInput.from_dict(data)


class ReasonSerializer(ResponseSerializer):
    field = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class PaymentRequestOutputSerializer(ResponseSerializer):
    """The same fields as the `payment_request.*` webhook payloads."""

    id = serializers.IntegerField()
    erp_payment_id = serializers.CharField()
    erp_approval_ref = serializers.CharField()
    erp_batch_id = serializers.CharField(allow_null=True)
    erp_vendor_id = serializers.CharField(allow_null=True)
    beneficiary_id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=PaymentRequest.State.choices)
    previous_state = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    amount_side = serializers.CharField()
    due_date = serializers.CharField()
    bill_reference = serializers.CharField()
    remittance_reference = serializers.CharField()
    reasons = ReasonSerializer(many=True)
    transfer_id = serializers.IntegerField(allow_null=True)
    accounting_reference = serializers.CharField(allow_null=True)
    rate = serializers.CharField(allow_null=True)
    fee = serializers.CharField(allow_null=True)
    source_amount = serializers.CharField(allow_null=True)
    source_currency = serializers.CharField()
    target_amount = serializers.CharField(allow_null=True)
    target_currency = serializers.CharField()
    value_date = serializers.CharField(allow_null=True)
    failure_reason = serializers.CharField()
    approval_reasons = serializers.ListField(child=serializers.CharField())
    approval_due_at = serializers.DateTimeField(allow_null=True)
    suspicious_activity = serializers.BooleanField()


def represent_request(request: PaymentRequest) -> dict[str, Any]:
    data = payment_request_payload(request)
    data.update(
        approval_reasons=request.approval_reasons,
        approval_due_at=request.approval_due_at,
        suspicious_activity=request.suspicious_activity,
    )
    return PaymentRequestOutputSerializer.represent(data)


class PaymentRequestListCreateApi(ApiView):
    required_scopes = {"GET": (scopes.PAYMENTS_REQUEST,), "POST": (scopes.PAYMENTS_REQUEST,)}
    pagination_class = ApiCursorPagination

    class FilterSerializer(StrictInputSerializer):
        state = serializers.ChoiceField(choices=PaymentRequest.State.choices, required=False)
        updated_since = serializers.DateTimeField(
            required=False, help_text="only requests changed at or after this time (polling)"
        )

    @extend_schema(
        operation_id="payment_requests_list",
        parameters=[FilterSerializer],
        responses=PaymentRequestOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items() if k not in ("cursor", "limit")}
        filters = self.FilterSerializer(data=params)
        filters.is_valid(raise_exception=True)
        qs = payment_requests_for_profile(profile=self.profile)
        if "state" in filters.validated_data:
            qs = qs.filter(state=filters.validated_data["state"])
        if "updated_since" in filters.validated_data:
            qs = qs.filter(updated_at__gte=filters.validated_data["updated_since"])
        paginator = ApiCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([represent_request(r) for r in page or []])

    @extend_schema(
        operation_id="payment_requests_create",
        request=PaymentRequestInputSerializer,
        responses={201: PaymentRequestOutputSerializer},
        description="One payment request. Refused whole (422) with every reason, each naming "
        "its field; a duplicate or a screening trip is accepted and held for review.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = PaymentRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = payment_request_create(
            actor=self.caller.actor, profile=self.profile, data=_input(data.validated_data)
        )
        return Response(
            represent_request(created),
            status=201,
            headers={"Location": f"/api/v1/payment-requests/{created.pk}"},
        )


class PaymentRequestDetailApi(ApiView):
    required_scopes = {"GET": (scopes.PAYMENTS_REQUEST,)}

    @extend_schema(operation_id="payment_requests_get", responses=PaymentRequestOutputSerializer)
    def get(self, request: Request, request_id: str) -> Response:
        found = payment_request_get_for_profile(profile=self.profile, request_id=request_id)
        return Response(represent_request(found))


class _DecisionApi(ApiView):
    required_scopes = {"POST": (scopes.PAYMENTS_APPROVE,)}

    class InputSerializer(StrictInputSerializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def decide(self, request_id: str, reason: str) -> PaymentRequest:
        raise NotImplementedError

    def _post(self, request: Request, request_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        found = payment_request_get_for_profile(profile=self.profile, request_id=request_id)
        try:
            decided = self.decide(str(found.pk), data.validated_data.get("reason", ""))
        except ApprovalRefused as exc:
            # Counted for operators even though the attempt itself changed nothing.
            approval_failure_record(profile=self.profile, request_id=found.pk, reason=exc.reason)
            raise
        return Response(represent_request(PaymentRequest.objects.get(pk=decided.pk)))


class PaymentRequestApproveApi(_DecisionApi):
    def decide(self, request_id: str, reason: str) -> PaymentRequest:
        return payment_request_approve(
            actor=self.caller.actor, profile=self.profile, request_id=request_id, note=reason
        )

    @extend_schema(
        operation_id="payment_requests_approve",
        request=_DecisionApi.InputSerializer,
        responses=PaymentRequestOutputSerializer,
        description="A member's approval (not the maker's; a token a member authorised).",
    )
    def post(self, request: Request, request_id: str) -> Response:
        return self._post(request, request_id)


class PaymentRequestRejectApi(_DecisionApi):
    def decide(self, request_id: str, reason: str) -> PaymentRequest:
        return payment_request_reject(
            actor=self.caller.actor, profile=self.profile, request_id=request_id, reason=reason
        )

    @extend_schema(
        operation_id="payment_requests_reject",
        request=_DecisionApi.InputSerializer,
        responses=PaymentRequestOutputSerializer,
    )
    def post(self, request: Request, request_id: str) -> Response:
        return self._post(request, request_id)


# ---------------------------------------------------------------------------------------------
# Batches


class RejectedItemSerializer(ResponseSerializer):
    pmt_inf_id = serializers.CharField()
    end_to_end_id = serializers.CharField()
    reasons = ReasonSerializer(many=True)


class FileProgressSerializer(ResponseSerializer):
    state = serializers.ChoiceField(
        choices=PaymentFileIntake.State.choices,
        help_text="pending, running (payments being taken in the background), done",
    )
    payments_total = serializers.IntegerField()
    payments_done = serializers.IntegerField(help_text="taken so far, in file order")
    requests_created = serializers.IntegerField()
    payments_rejected = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class PaymentBatchOutputSerializer(ResponseSerializer):
    id = serializers.IntegerField()
    erp_batch_id = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    request_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    states = serializers.DictField(child=serializers.IntegerField(), help_text="count by state")
    file_version = serializers.CharField()
    message_id = serializers.CharField()
    rejected_items = RejectedItemSerializer(
        many=True, help_text="payments of a file refused one by one (never requests)"
    )
    intake = FileProgressSerializer(
        allow_null=True, help_text="a file's payments being taken (null for a JSON batch)"
    )


def represent_batch(batch: PaymentBatch) -> dict[str, Any]:
    states = payment_batch_states(batch=batch)
    return PaymentBatchOutputSerializer.represent(
        {
            "id": batch.pk,
            "erp_batch_id": batch.erp_batch_id,
            "source": batch.source,
            "request_count": batch.request_count,
            "created_at": batch.created_at,
            "states": states,
            "file_version": batch.file_version,
            "message_id": batch.message_id,
            "rejected_items": batch.rejected_items,
            "intake": payment_file_progress(batch=batch),
        }
    )


class PaymentBatchCreateApi(ApiView):
    required_scopes = {"POST": (scopes.PAYMENTS_REQUEST,)}

    class InputSerializer(StrictInputSerializer):
        erp_batch_id = serializers.CharField(max_length=100)
        requests = serializers.ListField(
            child=PaymentRequestInputSerializer(), min_length=1, max_length=1000
        )

    @extend_schema(
        operation_id="payment_request_batches_create",
        request=InputSerializer,
        responses={201: PaymentBatchOutputSerializer},
        description="Up to 1,000 requests, all or nothing: every item's reasons under "
        "`requests[i].` (422), or the batch and every request created.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = payment_batch_create(
            actor=self.caller.actor,
            profile=self.profile,
            erp_batch_id=data.validated_data["erp_batch_id"],
            items=[_input(item) for item in data.validated_data["requests"]],
        )
        return Response(
            represent_batch(result.batch),
            status=201,
            headers={"Location": f"/api/v1/payment-request-batches/{result.batch.pk}"},
        )


class PaymentBatchDetailApi(ApiView):
    required_scopes = {"GET": (scopes.PAYMENTS_REQUEST,)}

    @extend_schema(
        operation_id="payment_request_batches_get", responses=PaymentBatchOutputSerializer
    )
    def get(self, request: Request, batch_id: str) -> Response:
        return Response(
            represent_batch(payment_batch_get_for_profile(profile=self.profile, batch_id=batch_id))
        )


class PaymentFileUploadApi(ApiView):
    required_scopes = {"POST": (scopes.PAYMENTS_REQUEST,)}
    # JSON with the file base64-encoded (bounded by the API's body limit, 1 MiB by default:
    # about 1,500 payments), or the file itself as the body (PAYMENT_FILE_MAX_BYTES).
    parser_classes = [CheckedJSONParser, RawXmlParser, TextXmlParser]

    # The query of an XML body; the JSON body takes the same field beside the file.
    class XmlQuerySerializer(StrictInputSerializer):
        source_currency = CurrencyField(
            required=False, help_text="the wallet currency that pays (default: DbtrAcct/Ccy)"
        )

    class InputSerializer(XmlQuerySerializer):
        file = serializers.CharField(
            help_text="the pain.001.001.03 or .09 file, base64-encoded (the API's body limit, "
            "1 MiB by default, bounds it: about 1,500 payments; send a larger file as the body "
            "itself with Content-Type: application/xml)",
        )

    @extend_schema(
        operation_id="payment_files_upload",
        request={
            "application/json": InputSerializer,
            "application/xml": OpenApiTypes.BINARY,
        },
        parameters=[
            OpenApiParameter(
                "source_currency",
                str,
                enum=list(SUPPORTED_CURRENCIES),
                description="with an XML body: the wallet currency that pays "
                "(default: DbtrAcct/Ccy)",
            )
        ],
        responses={
            200: PaymentBatchOutputSerializer,
            201: PaymentBatchOutputSerializer,
            202: PaymentBatchOutputSerializer,
        },
        description="An ISO 20022 pain.001 file: validated against its schema, NbOfTxs and "
        "CtrlSum checked; each payment becomes a request or is refused with its reasons. "
        "The same file again (MsgId and checksum) is the same batch (200). A file of more "
        "than PAYMENT_FILE_CHUNK_PAYMENTS payments (500 by default) is validated and stored, "
        "then taken in the background: 202, its progress in `intake` and `states` "
        "(GET the batch). Send it as JSON "
        "(base64 in `file`) or as the body itself (`Content-Type: application/xml`, up to "
        "PAYMENT_FILE_MAX_BYTES, 32 MiB by default, with `source_currency` in the query).",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        raw, source_currency = self._file(request)
        result = payment_file_import(
            actor=self.caller.actor,
            profile=self.profile,
            data=raw,
            source_currency=source_currency,
        )
        status = 200
        if result.created:
            status = 202 if result.in_background else 201
        return Response(
            represent_batch(result.batch),
            status=status,
            headers={"Location": f"/api/v1/payment-request-batches/{result.batch.pk}"},
        )

    def _file(self, request: Request) -> tuple[bytes, str]:
        if isinstance(request.data, RawUpload):
            query = self.XmlQuerySerializer(data=request.query_params.dict())
            query.is_valid(raise_exception=True)
            return request.data.content, query.validated_data.get("source_currency", "")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            raw = base64.b64decode(data.validated_data["file"], validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed(
                [FieldError("file", "invalid_base64", "must be the file, base64-encoded")]
            ) from None
        return raw, data.validated_data.get("source_currency", "")


class PaymentBatchStatusReportApi(ApiView):
    required_scopes = {"GET": (scopes.PAYMENTS_REQUEST,)}

    class OutputSerializer(ResponseSerializer):
        batch_id = serializers.IntegerField()
        format = serializers.CharField()
        xml = serializers.CharField(help_text="the pain.002.001.03 status report")

    @extend_schema(operation_id="payment_request_batches_pain002", responses=OutputSerializer)
    def get(self, request: Request, batch_id: str) -> Response:
        batch = payment_batch_get_for_profile(profile=self.profile, batch_id=batch_id)
        xml = payment_batch_pain002(batch=batch).decode()
        return Response(
            self.OutputSerializer.represent(
                {"batch_id": batch.pk, "format": "pain.002.001.03", "xml": xml}
            )
        )


class CashProjectionSerializer(ResponseSerializer):
    value_date = serializers.DateField()
    outflows = serializers.CharField()
    projected = serializers.CharField()


class CashCurrencySerializer(ResponseSerializer):
    currency = serializers.CharField()
    posted = serializers.CharField()
    held = serializers.CharField()
    available = serializers.CharField()
    pending_outflows = serializers.CharField(
        help_text="approved and in-flight requests not yet funded"
    )
    expected_inflows = serializers.CharField(
        help_text="announced, not yet in the wallet (none are modelled yet: 0)"
    )
    projected = serializers.CharField()
    estimated = serializers.BooleanField(
        help_text="some outflows are estimated at today's mid rate (not yet quoted)"
    )
    by_value_date = CashProjectionSerializer(many=True)


class CashPositionApi(ApiView):
    required_scopes = {"GET": (scopes.CASH_READ,)}

    class OutputSerializer(ResponseSerializer):
        as_of = serializers.DateTimeField()
        currencies = CashCurrencySerializer(many=True)

    @extend_schema(
        operation_id="cash_position_get",
        responses=OutputSerializer,
        description="Per currency: posted, held and available balances from the ledger, "
        "pending outflows of approved and in-flight requests, expected inflows, and the "
        "projected position by value date. Amounts are decimal strings in major units.",
    )
    def get(self, request: Request) -> Response:
        currencies = []
        for code, p in cash_position(profile=self.profile).items():
            currencies.append(
                {
                    "currency": code,
                    "posted": money(p.posted_minor, code),
                    "held": money(p.held_minor, code),
                    "available": money(p.available_minor, code),
                    "pending_outflows": money(p.pending_outflows_minor, code),
                    "expected_inflows": money(p.expected_inflows_minor, code),
                    "projected": money(p.projected_minor, code),
                    "estimated": p.estimated,
                    "by_value_date": [
                        {
                            "value_date": day.isoformat(),
                            "outflows": money(out, code),
                            "projected": money(after, code),
                        }
                        for day, out, after in p.projection()
                    ],
                }
            )
        return Response({"as_of": timezone.now().isoformat(), "currencies": currencies})


class PaymentsExportApi(ApiView):
    required_scopes = {"GET": (scopes.PAYMENTS_REQUEST,)}

    class FilterSerializer(StrictInputSerializer):
        date_from = serializers.DateField(help_text="first day, inclusive")
        date_to = serializers.DateField(help_text="last day, exclusive; at most 366 days on")
        format = serializers.ChoiceField(choices=["json", "csv"], required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            span = (attrs["date_to"] - attrs["date_from"]).days
            if not 0 < span <= 366:
                raise ValidationFailed(
                    [FieldError("date_to", "invalid_period", "1 to 366 days after date_from")]
                )
            return attrs

    class OutputSerializer(ResponseSerializer):
        date_from = serializers.DateField()
        date_to = serializers.DateField()
        payments = PaymentRequestOutputSerializer(many=True)

    @extend_schema(
        operation_id="payments_export",
        parameters=[FilterSerializer],
        responses={
            (200, "application/json"): OutputSerializer,
            (200, "text/csv"): {"type": "string"},
        },
        description="Requests finished in the period (completed, failed, rejected, cancelled, "
        "expired), for your ERP to clear its payables: JSON, or CSV with `format=csv`.",
    )
    def get(self, request: Request) -> Any:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        period = {
            "date_from": filters.validated_data["date_from"],
            "date_to": filters.validated_data["date_to"],
        }
        if filters.validated_data.get("format") == "csv":
            text = payments_export_csv(profile=self.profile, **period)
            response = HttpResponse(text, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="payments.csv"'
            return response
        rows = list(payments_export_rows(profile=self.profile, **period))
        for row in rows:
            row.update(approval_reasons=[], approval_due_at=None, suspicious_activity=False)
        return Response(
            {
                "date_from": period["date_from"].isoformat(),
                "date_to": period["date_to"].isoformat(),
                "payments": PaymentRequestOutputSerializer.represent_many(rows),
            }
        )
