"""The cash position of a business, per currency, from the ledger and its payment requests.

- available, held, posted: the wallet's balances as the ledger has them (posted - held =
  available).
- pending outflows: what approved and in-flight requests will still take from the wallet,
  i.e. requests not yet funded (validated, awaiting approval, quoted, transfer created),
  in the source currency: the quote's source amount where quoted, else the amount itself
  (source-fixed) or an estimate at today's mid rate (target-fixed, marked `estimated`).
- expected inflows: money announced but not yet in the wallet. Nothing in the platform
  announces incoming money yet (a failed payout's money is back in the wallet at once, see
  docs/ledger.md), so this is 0 until funding notices exist; the field is kept so ERPs can
  read it now.
- projection: by value date (the request's due date), the available balance plus expected
  inflows minus the outflows due on or before each date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from fintech.core.money import convert_minor
from fintech.customers.models import Profile
from fintech.payments.models import PaymentRequest
from fintech.quotes.rates import get_rate_provider
from fintech.transfers.models import Transfer
from fintech.wallets.selectors import profile_wallet_balances

PENDING_STATES = [
    PaymentRequest.State.VALIDATED,
    PaymentRequest.State.AWAITING_APPROVAL,
    PaymentRequest.State.QUOTED,
    PaymentRequest.State.TRANSFER_CREATED,
]


@dataclass
class CurrencyPosition:
    currency: str
    posted_minor: int = 0
    held_minor: int = 0
    available_minor: int = 0
    pending_outflows_minor: int = 0
    expected_inflows_minor: int = 0
    estimated: bool = False
    outflows_by_date: dict[dt.date, int] = field(default_factory=dict)

    @property
    def projected_minor(self) -> int:
        return self.available_minor + self.expected_inflows_minor - self.pending_outflows_minor

    def projection(self) -> list[tuple[dt.date, int, int]]:
        """(value date, outflows due that day, projected balance after them)."""
        running = self.available_minor + self.expected_inflows_minor
        rows = []
        for day in sorted(self.outflows_by_date):
            running -= self.outflows_by_date[day]
            rows.append((day, self.outflows_by_date[day], running))
        return rows


def _source_minor(request: PaymentRequest) -> tuple[int, bool]:
    if request.quote is not None:
        return request.quote.source_amount_minor, False
    if request.amount_side == PaymentRequest.AmountSide.SOURCE:
        return request.amount_minor, False
    try:
        rate = get_rate_provider().mid_rate(request.source_currency, request.target_currency).rate
    except LookupError:
        return 0, True
    return (
        convert_minor(
            request.amount_minor,
            rate=1 / rate,
            source=request.target_currency,
            target=request.source_currency,
        ),
        True,
    )


def cash_position(*, profile: Profile) -> dict[str, CurrencyPosition]:
    positions: dict[str, CurrencyPosition] = {}

    def position(currency: str) -> CurrencyPosition:
        return positions.setdefault(currency, CurrencyPosition(currency))

    for currency, summary in profile_wallet_balances(profile=profile).items():
        p = position(currency)
        p.posted_minor, p.held_minor = summary.posted_minor, summary.held_minor
        p.available_minor = summary.available_minor
    pending = PaymentRequest.objects.filter(profile=profile, state__in=PENDING_STATES)
    for request in pending.select_related("quote", "transfer"):
        if request.transfer is not None and request.transfer.state != Transfer.State.CREATED:
            continue  # funded: already out of the wallet
        amount, estimated = _source_minor(request)
        p = position(request.source_currency)
        p.pending_outflows_minor += amount
        p.estimated = p.estimated or estimated
        day = max(request.due_date, timezone.localdate())
        p.outflows_by_date[day] = p.outflows_by_date.get(day, 0) + amount
    return dict(sorted(positions.items()))
