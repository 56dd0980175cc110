"""transfer_create: from the profile's own unexpired, unused quote to its own active
beneficiary in the quote's currency, once per customer transaction id, verified profiles only."""

import datetime as dt
import re
import uuid

import pytest
import time_machine

from fintech.beneficiaries.services import beneficiary_deactivate
from fintech.core.errors import (
    ComplianceBlocked,
    Conflict,
    NotFound,
    QuoteExpired,
    ValidationFailed,
)
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.transfers.models import Transfer, TransferTransition
from fintech.transfers.services import transfer_create
from tests.builders import build_beneficiary, build_profile
from tests.transfers.conftest import ALICE, OPS, quote_for

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        Transfer.objects.count(),
        TransferTransition.objects.count(),
        AuditEvent.objects.count(),
        OutboxEvent.objects.count(),
    )


@pytest.fixture
def carol():
    """Another verified business, whose objects alice must never reach."""
    return build_profile(legal_name="Carol Imports Ltd")


def create(profile, quote, beneficiary, ctid="INV-1001", **overrides):
    data = {
        "actor": ALICE,
        "profile": profile,
        "quote_id": quote.pk if quote is not None else uuid.uuid4(),
        "beneficiary_id": beneficiary.pk,
        "customer_transaction_id": ctid,
    }
    data.update(overrides)
    return transfer_create(**data)


def test_it_creates_a_transfer_at_the_quotes_price(alice, alice_eur) -> None:
    quote = quote_for(alice, amount="1234.56")
    transfer = create(alice, quote, alice_eur)

    assert transfer.state == Transfer.State.CREATED
    assert re.fullmatch(r"TR[0-9A-HJKMNP-TV-Z]{10}", transfer.reference)
    assert (transfer.profile, transfer.quote, transfer.beneficiary) == (alice, quote, alice_eur)
    assert transfer.customer_transaction_id == "INV-1001"
    assert (
        transfer.source_currency,
        transfer.source_amount_minor,
        transfer.target_currency,
        transfer.target_amount_minor,
        transfer.fee_minor,
    ) == (
        quote.source_currency,
        quote.source_amount_minor,
        quote.target_currency,
        quote.target_amount_minor,
        quote.fee_minor,
    )
    first = TransferTransition.objects.get(transfer=transfer)
    assert (first.transition, first.source_state, first.target_state, first.actor_label) == (
        "create",
        "",
        "created",
        "user:alice",
    )
    assert AuditEvent.objects.filter(action="transfer.create", target_id=str(transfer.pk)).exists()
    event = OutboxEvent.objects.get(type="transfer.initiated", payload__id=transfer.pk)
    assert event.profile_id == alice.pk
    assert event.payload["source_amount"] == "1234.56"
    assert event.payload["customer_transaction_id"] == "INV-1001"


def test_references_are_unique(make_transfer) -> None:
    references = {make_transfer().reference for _ in range(20)}
    assert len(references) == 20


def test_a_pending_profile_is_blocked(bob) -> None:
    beneficiary = build_beneficiary(profile=bob, currency="EUR")
    quote = quote_for(bob)
    before = snapshot()
    with pytest.raises(ComplianceBlocked) as excinfo:
        create(bob, quote, beneficiary)
    assert excinfo.value.status == 403
    assert snapshot() == before


def test_an_unverified_profile_is_blocked(db) -> None:
    dave = build_profile(legal_name="Dave Newco Ltd", verified=False)
    beneficiary = build_beneficiary(profile=dave, currency="EUR")
    with pytest.raises(ComplianceBlocked):
        create(dave, quote_for(dave), beneficiary)
    assert not Transfer.objects.exists()


def test_it_refuses_an_expired_quote(alice, alice_eur) -> None:
    quote = quote_for(alice)
    before = snapshot()
    with time_machine.travel(quote.expires_at, tick=False), pytest.raises(QuoteExpired) as exc:
        create(alice, quote, alice_eur)
    assert [f.field for f in exc.value.fields] == ["quote_id"]
    assert exc.value.code == "quote_expired"
    assert snapshot() == before


def test_a_quote_is_good_until_its_last_second(alice, alice_eur) -> None:
    quote = quote_for(alice)
    with time_machine.travel(quote.expires_at - dt.timedelta(seconds=1), tick=False):
        assert create(alice, quote, alice_eur).quote == quote


def test_another_profiles_quote_is_not_found(alice, alice_eur, carol) -> None:
    carols_quote = quote_for(carol)
    before = snapshot()
    with pytest.raises(NotFound) as foreign:
        create(alice, carols_quote, alice_eur)
    with pytest.raises(NotFound) as missing:
        create(alice, None, alice_eur)
    # Indistinguishable from a quote that does not exist.
    assert foreign.value.fields == missing.value.fields
    assert [f.field for f in foreign.value.fields] == ["quote_id"]
    assert snapshot() == before


def test_another_profiles_beneficiary_is_not_found(alice, carol) -> None:
    carols_beneficiary = build_beneficiary(profile=carol, currency="EUR")
    quote = quote_for(alice)
    before = snapshot()
    with pytest.raises(NotFound) as excinfo:
        create(alice, quote, carols_beneficiary)
    assert [f.field for f in excinfo.value.fields] == ["beneficiary_id"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("quote_id", "not-a-uuid"), ("beneficiary_id", "abc"), ("beneficiary_id", 10**12)],
)
def test_malformed_ids_are_not_found(alice, alice_eur, field, value) -> None:
    with pytest.raises(NotFound) as excinfo:
        create(alice, quote_for(alice), alice_eur, **{field: value})
    assert [f.field for f in excinfo.value.fields] == [field]


def test_a_beneficiary_in_another_currency_is_refused(alice) -> None:
    gbp_beneficiary = build_beneficiary(profile=alice, currency="GBP")
    quote = quote_for(alice, target="EUR")
    before = snapshot()
    with pytest.raises(ValidationFailed) as excinfo:
        create(alice, quote, gbp_beneficiary)
    assert [(f.field, f.code) for f in excinfo.value.fields] == [
        ("beneficiary_id", "currency_mismatch")
    ]
    assert snapshot() == before


def test_an_inactive_beneficiary_is_refused(alice, alice_eur) -> None:
    beneficiary_deactivate(actor=OPS, beneficiary=alice_eur, reason="closed account")
    with pytest.raises(ValidationFailed) as excinfo:
        create(alice, quote_for(alice), alice_eur)
    assert [(f.field, f.code) for f in excinfo.value.fields] == [
        ("beneficiary_id", "beneficiary_inactive")
    ]


def test_a_quote_pays_for_one_transfer_only(alice, alice_eur) -> None:
    quote = quote_for(alice)
    create(alice, quote, alice_eur, ctid="INV-1")
    before = snapshot()
    with pytest.raises(Conflict) as excinfo:
        create(alice, quote, alice_eur, ctid="INV-2")
    assert excinfo.value.status == 409
    assert [(f.field, f.code) for f in excinfo.value.fields] == [("quote_id", "quote_already_used")]
    assert snapshot() == before


def test_a_customer_transaction_id_is_used_once_per_profile(alice, alice_eur) -> None:
    first = create(alice, quote_for(alice), alice_eur, ctid="INV-7")
    second_quote = quote_for(alice)
    before = snapshot()
    with pytest.raises(Conflict) as excinfo:
        create(alice, second_quote, alice_eur, ctid="INV-7")
    assert [(f.field, f.code) for f in excinfo.value.fields] == [
        ("customer_transaction_id", "duplicate_customer_transaction_id")
    ]
    assert first.reference in excinfo.value.message
    assert snapshot() == before


def test_another_profile_may_use_the_same_customer_transaction_id(alice, alice_eur, carol) -> None:
    create(alice, quote_for(alice), alice_eur, ctid="INV-7")
    carols = create(carol, quote_for(carol), build_beneficiary(profile=carol, currency="EUR"),
                    ctid="INV-7")  # fmt: skip
    assert carols.customer_transaction_id == "INV-7"


@pytest.mark.parametrize("ctid", ["", "   ", "x" * 101, None])
def test_a_customer_transaction_id_is_required(alice, alice_eur, ctid) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        create(alice, quote_for(alice), alice_eur, ctid=ctid)
    assert [f.field for f in excinfo.value.fields] == ["customer_transaction_id"]
