"""The partner simulators, served by this project for the sandbox (`/sandbox/...`)."""

from django.urls import include, path

from integrations.simulators import kyc, payout

app_name = "sandbox"

urlpatterns = [
    path("payout-partner/payouts", payout.payout_create, name="payout-create"),
    path("payout-partner/recalls", payout.payout_recall, name="payout-recall"),
    path(
        "payout-partner/settlement-report",
        payout.payout_settlement_report,
        name="payout-settlement-report",
    ),
    path("payout-partner/payouts/<str:payout_id>", payout.payout_get, name="payout-get"),
    path("kyc-provider/checks", kyc.check_create, name="kyc-check-create"),
    path("xero/", include("integrations.simulators.xero.urls")),
    path("quickbooks/", include("integrations.simulators.quickbooks.urls")),
    path("crm/", include("integrations.simulators.crm.urls")),
]
