"""The postings of every transfer step, exactly as docs/ledger.md writes them down.

The ledger knows nothing of transfers as business objects: callers describe a transfer's
money as a `TransferMoney` (plain values) and call the step. The transfer services
(fintech.transfers) call these inside the transaction of each FSM transition. Every entry's
idempotency key is `transfer:<reference>:<step>`, so a retried step returns its entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger import chart
from ledger.errors import UnknownEntry
from ledger.models import Account, JournalEntry
from ledger.selectors import entry_by_idempotency_key
from ledger.services import PostingSpec, entry_post, entry_reverse


@dataclass(frozen=True)
class TransferMoney:
    reference: str
    owner: str
    source_currency: str
    source_minor: int  # what the customer pays, fee included
    fee_minor: int  # in the source currency
    target_currency: str
    target_minor: int  # what the beneficiary receives
    # In the target currency: converted-at-mid minus target. Negative on a tiny transfer whose
    # rounding gave the customer more than mid would: then it is a loss, debited to revenue.
    margin_minor: int
    funding_partner: str
    payout_partner: str

    @property
    def converted_minor(self) -> int:
        return self.source_minor - self.fee_minor

    def key(self, step: str) -> str:
        return f"transfer:{self.reference}:{step}"


def D(account: Account, amount: int, currency: str) -> PostingSpec:
    return PostingSpec.debit(account.pk, amount, currency)


def C(account: Account, amount: int, currency: str) -> PostingSpec:
    return PostingSpec.credit(account.pk, amount, currency)


def wallet_fund(
    *,
    owner: str,
    currency: str,
    amount_minor: int,
    partner: str,
    key: str,
    memo: str = "",
    metadata: dict[str, Any] | None = None,
) -> JournalEntry:
    """Money received at our funding bank for a customer: Dr funding partner, Cr wallet."""
    return entry_post(
        idempotency_key=key,
        postings=[
            D(
                chart.funding_partner_account(partner=partner, currency=currency),
                amount_minor,
                currency,
            ),
            C(chart.wallet_account(owner=owner, currency=currency), amount_minor, currency),
        ],
        memo=memo or f"wallet funding {owner}",
        metadata=metadata,
    )


def fund(t: TransferMoney) -> JournalEntry:
    src = t.source_currency
    return entry_post(
        idempotency_key=t.key("fund"),
        postings=[
            D(chart.wallet_account(owner=t.owner, currency=src), t.source_minor, src),
            C(chart.transfer_clearing_account(currency=src), t.source_minor, src),
        ],
        memo=f"transfer {t.reference} funded from wallet",
    )


def submit(t: TransferMoney) -> JournalEntry:
    src, tgt = t.source_currency, t.target_currency
    legs = [
        D(chart.transfer_clearing_account(currency=src), t.source_minor, src),
        C(chart.fx_position_account(currency=src), t.converted_minor, src),
        D(chart.fx_position_account(currency=tgt), t.target_minor + t.margin_minor, tgt),
        C(chart.transfer_clearing_account(currency=tgt), t.target_minor, tgt),
    ]
    if t.fee_minor:
        legs.append(C(chart.fee_revenue_account(currency=src), t.fee_minor, src))
    margin_account = chart.fx_margin_revenue_account(currency=tgt)
    if t.margin_minor > 0:
        legs.append(C(margin_account, t.margin_minor, tgt))
    elif t.margin_minor < 0:
        legs.append(D(margin_account, -t.margin_minor, tgt))
    return entry_post(
        idempotency_key=t.key("submit"),
        postings=legs,
        memo=f"transfer {t.reference} converted {src}->{tgt} and submitted for payout",
    )


def complete(t: TransferMoney) -> JournalEntry:
    tgt = t.target_currency
    return entry_post(
        idempotency_key=t.key("complete"),
        postings=[
            D(chart.transfer_clearing_account(currency=tgt), t.target_minor, tgt),
            C(
                chart.payout_partner_account(partner=t.payout_partner, currency=tgt),
                t.target_minor,
                tgt,
            ),
        ],
        memo=f"transfer {t.reference} paid out",
    )


def _unwind(t: TransferMoney, step: str, of: str) -> JournalEntry:
    original = entry_by_idempotency_key(idempotency_key=t.key(of))
    if original is None:
        raise UnknownEntry(f"transfer {t.reference} has no {of!r} entry to reverse")
    return entry_reverse(
        entry_id=original.pk, idempotency_key=t.key(step), memo=f"transfer {t.reference}: {step}"
    )


def _back_to_wallet(t: TransferMoney, step: str) -> JournalEntry:
    src = t.source_currency
    return entry_post(
        idempotency_key=t.key(step),
        postings=[
            D(chart.transfer_clearing_account(currency=src), t.source_minor, src),
            C(chart.wallet_account(owner=t.owner, currency=src), t.source_minor, src),
        ],
        memo=f"transfer {t.reference}: money back to the wallet",
    )


def fail(t: TransferMoney) -> list[JournalEntry]:
    return [_unwind(t, "fail:unwind", of="submit"), _back_to_wallet(t, "fail")]


def cancel(t: TransferMoney, *, submitted: bool) -> list[JournalEntry]:
    unwind = [_unwind(t, "cancel:unwind", of="submit")] if submitted else []
    return [*unwind, _back_to_wallet(t, "cancel")]


def refund(t: TransferMoney, *, completed: bool) -> list[JournalEntry]:
    src = t.source_currency
    funding = chart.funding_partner_account(partner=t.funding_partner, currency=src)
    if completed:
        entries = [
            _unwind(t, "refund:unpay", of="complete"),
            _unwind(t, "refund:unwind", of="submit"),
        ]
        paid_from = chart.transfer_clearing_account(currency=src)
    else:
        entries = []
        paid_from = chart.wallet_account(owner=t.owner, currency=src)
    entries.append(
        entry_post(
            idempotency_key=t.key("refund"),
            postings=[D(paid_from, t.source_minor, src), C(funding, t.source_minor, src)],
            memo=f"transfer {t.reference} refunded to the payer's bank",
        )
    )
    return entries
