"""The demo command fills every screen and is idempotent."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from fintech.beneficiaries.models import Beneficiary
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.customers.models import Profile
from fintech.quotes.models import Quote
from fintech.transfers.models import Transfer, TransferTransition

pytestmark = pytest.mark.django_db

COUNTED = [Profile, Beneficiary, Quote, Transfer, TransferTransition, AuditEvent, OutboxEvent]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_it_creates_the_demo_world() -> None:
    call_command("demo_data", verbosity=0)
    assert Profile.objects.filter(kind="business").count() >= 3
    assert Profile.objects.filter(kind="personal").count() >= 2
    currencies = set(Beneficiary.objects.values_list("currency", flat=True))
    assert currencies >= {"GBP", "EUR", "USD", "INR"}
    assert set(Transfer.objects.values_list("state", flat=True)) == set(Transfer.State.values)
    assert Quote.objects.filter(transfer__isnull=True).exists()


def test_a_second_run_creates_nothing_twice() -> None:
    call_command("demo_data", verbosity=0)
    first = counts()
    call_command("demo_data", verbosity=0)
    assert counts() == first


def test_the_demo_ledger_verifies() -> None:
    call_command("demo_data", verbosity=0)
    out = StringIO()
    call_command("ledger_verify", stdout=out)
    assert out.getvalue().startswith("OK:")


def test_the_api_walkthrough_can_register_a_sandbox_client_by_name() -> None:
    # fintech/api/README.md: `make manage ARGS='api_client_create --profile "Acme Sandbox Ltd"'`
    call_command("demo_data", verbosity=0)
    sandbox = Profile.objects.get(legal_name="Acme Sandbox Ltd")
    assert sandbox.is_sandbox
    assert sandbox.compliance.state == "verified"
    out = StringIO()
    call_command("api_client_create", "--profile", "Acme Sandbox Ltd", "--name", "ERP", stdout=out)
    assert out.getvalue().startswith(f"sandbox client for Acme Sandbox Ltd (profile {sandbox.pk})")
    by_id = StringIO()
    call_command("api_client_create", "--profile", str(sandbox.pk), stdout=by_id)
    assert "sandbox client for Acme Sandbox Ltd" in by_id.getvalue()
    with pytest.raises(CommandError, match="No profile with id or legal name 'Nobody Ltd'"):
        call_command("api_client_create", "--profile", "Nobody Ltd")
