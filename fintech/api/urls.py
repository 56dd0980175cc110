"""/api/ routes. Everything else under /api/ (an unknown version, a typo) is a 404 problem."""

from __future__ import annotations

from django.urls import include, path, re_path

from fintech.api.views import account, beneficiaries, docs, quotes, sandbox, transfers

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
    path("ledger/statement", account.StatementApi.as_view(), name="statement"),
    path("compliance", account.ComplianceApi.as_view(), name="compliance"),
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
