"""Money paid in at the funding bank credits the wallet once, audited, with its events."""

import pytest

from fintech.core.errors import ValidationFailed
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.wallets.selectors import profile_wallet_balances
from fintech.wallets.services import wallet_fund
from ledger.errors import IdempotencyConflict
from ledger.selectors import ledger_verify_report

pytestmark = pytest.mark.django_db


def test_it_credits_the_wallet_and_announces_it(bob, ops_actor) -> None:
    wallet_fund(
        actor=ops_actor, profile=bob, currency="EUR", amount_minor=12_345,
        external_reference="BANK-1",
    )  # fmt: skip
    assert profile_wallet_balances(profile=bob)["EUR"].posted_minor == 12_345
    assert AuditEvent.objects.filter(action="wallet.fund", target_id=str(bob.pk)).count() == 1
    types = set(OutboxEvent.objects.filter(profile_id=bob.pk).values_list("type", flat=True))
    assert {"wallet.funded", "ledger.entry.created"} <= types
    assert ledger_verify_report().ok


def test_the_same_bank_payment_imported_twice_credits_once(bob, ops_actor) -> None:
    for _ in range(2):
        wallet_fund(
            actor=ops_actor, profile=bob, currency="GBP", amount_minor=500,
            external_reference="BANK-2",
        )  # fmt: skip
    assert profile_wallet_balances(profile=bob)["GBP"].posted_minor == 500
    assert AuditEvent.objects.filter(action="wallet.fund").count() == 1


def test_the_same_reference_with_another_amount_is_refused(bob, ops_actor) -> None:
    wallet_fund(
        actor=ops_actor, profile=bob, currency="GBP", amount_minor=500,
        external_reference="BANK-3",
    )  # fmt: skip
    with pytest.raises(IdempotencyConflict):
        wallet_fund(
            actor=ops_actor, profile=bob, currency="GBP", amount_minor=501,
            external_reference="BANK-3",
        )  # fmt: skip
    assert profile_wallet_balances(profile=bob)["GBP"].posted_minor == 500


@pytest.mark.parametrize(
    ("currency", "amount_minor", "reference", "field"),
    [
        ("XXX", 100, "R", "currency"),
        ("GBP", 0, "R", "amount_minor"),
        ("GBP", -5, "R", "amount_minor"),
        ("GBP", 100, "  ", "external_reference"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    bob, ops_actor, currency, amount_minor, reference, field
) -> None:
    with pytest.raises(ValidationFailed) as failed:
        wallet_fund(
            actor=ops_actor, profile=bob, currency=currency, amount_minor=amount_minor,
            external_reference=reference,
        )  # fmt: skip
    assert [e.field for e in failed.value.fields] == [field]
    assert profile_wallet_balances(profile=bob) == {}
    assert not AuditEvent.objects.filter(action="wallet.fund").exists()
