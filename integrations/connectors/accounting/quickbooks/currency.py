"""Which currencies a QuickBooks company takes, and the ExchangeRate a foreign document says.

QuickBooks posts a document in a currency other than the company's home currency only with
multicurrency on and that currency added to the company; then the document carries its
ExchangeRate (home currency per unit). We say the rate ourselves, so the books show the one
the ledger used: the transfer's own quote rate when the pair is the transfer's, else the
platform's mid rate (fintech.quotes.rates), never a rate QuickBooks picks by itself.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from integrations.connectors.accounting.facts import TransferFacts
from integrations.connectors.accounting.vocabulary import MappingError
from integrations.sync.models import Connection

RATE_PLACES = Decimal("1E-10")


def check_enabled(connection: Connection, currency: str) -> None:
    """MappingError naming the currency and the company unless it can take `currency`."""
    home = connection.base_currency
    enabled = set(connection.currencies or []) or {home}
    if not home or currency == home or currency in enabled:
        return
    company = connection.tenant_name or connection.tenant_id
    if enabled == {home}:
        raise MappingError(
            f"currency {currency}: multicurrency is off in the QuickBooks company {company!r} "
            f"(home currency {home}), so it cannot take a {currency} transaction: turn "
            f"multicurrency on and add {currency} there, refresh the chart of accounts, retry"
        )
    raise MappingError(
        f"currency {currency} is not enabled in the QuickBooks company {company!r} "
        f"(it has {', '.join(sorted(enabled))}): add {currency} there, refresh the chart of "
        "accounts, then retry"
    )


def exchange_rate(
    connection: Connection, currency: str, *, transfer: TransferFacts | None = None
) -> Decimal | None:
    """Home currency per unit of `currency` (None for the home currency itself)."""
    check_enabled(connection, currency)
    home = connection.base_currency
    if currency == home:
        return None
    if transfer is not None and transfer.rate > 0:
        pair = (transfer.source_currency, transfer.target_currency)
        if pair == (currency, home):
            return transfer.rate.quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN)
        if pair == (home, currency):
            return (Decimal(1) / transfer.rate).quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN)
    from fintech.quotes.rates import get_rate_provider

    try:
        quoted = get_rate_provider().mid_rate(currency, home)
    except LookupError as exc:
        raise MappingError(f"no {home} rate for {currency}: {exc}") from exc
    return quoted.rate.quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN)
