"""/api/ routes. Everything else under /api/ (an unknown version, a typo) is a 404 problem."""

from __future__ import annotations

from django.urls import include, path, re_path

from fintech.api.views import (
    account,
    beneficiaries,
    disputes,
    docs,
    payments,
    quotes,
    sandbox,
    transfers,
)

app_name = "api"

v1 = [
    path("profile", account.ProfileApi.as_view(), name="profile"),
    path("balances", account.BalancesApi.as_view(), name="balances"),
    path("rates", quotes.RatesApi.as_view(), name="rates"),
    path("quotes", quotes.QuoteCreateApi.as_view(), name="quotes"),
    path("quotes/<str:quote_id>", quotes.QuoteDetailApi.as_view(), name="quote"),
    path(
        "beneficiaries",
        beneficiaries.BeneficiaryListCreateApi.as_view(),
        name="beneficiaries",
    ),
    path(
        "beneficiaries/<str:beneficiary_id>",
        beneficiaries.BeneficiaryDetailApi.as_view(),
        name="beneficiary",
    ),
    path(
        "beneficiaries/<str:beneficiary_id>/deactivate",
        beneficiaries.BeneficiaryDeactivateApi.as_view(),
        name="beneficiary-deactivate",
    ),
    path("transfers", transfers.TransferListCreateApi.as_view(), name="transfers"),
    path("transfers/<str:transfer_id>", transfers.TransferDetailApi.as_view(), name="transfer"),
    path(
        "transfers/<str:transfer_id>/fund",
        transfers.TransferFundApi.as_view(),
        name="transfer-fund",
    ),
    path(
        "transfers/<str:transfer_id>/cancel",
        transfers.TransferCancelApi.as_view(),
        name="transfer-cancel",
    ),
    path("disputes", disputes.DisputeListCreateApi.as_view(), name="disputes"),
    path("disputes/<str:dispute_id>", disputes.DisputeDetailApi.as_view(), name="dispute"),
    path(
        "disputes/<str:dispute_id>/withdraw",
        disputes.DisputeWithdrawApi.as_view(),
        name="dispute-withdraw",
    ),
    path("vendors", payments.VendorListUpsertApi.as_view(), name="vendors"),
    path("vendors/bulk", payments.VendorBulkApi.as_view(), name="vendors-bulk"),
    path("vendors/<str:erp_vendor_id>", payments.VendorDetailApi.as_view(), name="vendor"),
    path(
        "vendors/<str:erp_vendor_id>/deactivate",
        payments.VendorDeactivateApi.as_view(),
        name="vendor-deactivate",
    ),
    path(
        "payment-requests",
        payments.PaymentRequestListCreateApi.as_view(),
        name="payment-requests",
    ),
    path(
        "payment-requests/export",
        payments.PaymentsExportApi.as_view(),
        name="payments-export",
    ),
    path(
        "payment-requests/<str:request_id>",
        payments.PaymentRequestDetailApi.as_view(),
        name="payment-request",
    ),
    path(
        "payment-requests/<str:request_id>/approve",
        payments.PaymentRequestApproveApi.as_view(),
        name="payment-request-approve",
    ),
    path(
        "payment-requests/<str:request_id>/reject",
        payments.PaymentRequestRejectApi.as_view(),
        name="payment-request-reject",
    ),
    path(
        "payment-request-batches",
        payments.PaymentBatchCreateApi.as_view(),
        name="payment-request-batches",
    ),
    path(
        "payment-request-batches/files",
        payments.PaymentFileUploadApi.as_view(),
        name="payment-request-batch-files",
    ),
    path(
        "payment-request-batches/<str:batch_id>/pain002",
        payments.PaymentBatchStatusReportApi.as_view(),
        name="payment-request-batch-pain002",
    ),
    path(
        "payment-request-batches/<str:batch_id>",
        payments.PaymentBatchDetailApi.as_view(),
        name="payment-request-batch",
    ),
    path("cash-position", payments.CashPositionApi.as_view(), name="cash-position"),
    path("ledger/statement", account.StatementApi.as_view(), name="statement"),
    path("compliance", account.ComplianceApi.as_view(), name="compliance"),
    path("crm/account-manager", account.CrmAccountManagerApi.as_view(), name="crm-account-manager"),
    path(
        "sandbox/transfers/<str:transfer_id>/simulate",
        sandbox.SandboxTransferSimulateApi.as_view(),
        name="sandbox-simulate",
    ),
    path("schema/", docs.SchemaApi.as_view(), name="schema"),
    path("docs/", docs.DocsApi.as_view(), name="docs"),
    path("redoc/", docs.RedocApi.as_view(), name="redoc"),
    path("problems/", docs.problem_type_index, name="problems"),
    path("problems/<str:code>", docs.problem_type, name="problem"),
]

urlpatterns = [
    path("v1/", include(v1)),
    re_path(r"^.*$", docs.not_found, name="not-found"),
]
