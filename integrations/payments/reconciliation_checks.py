"""The ERP check for reconciliation (issue 17), registered at start-up through
`RECONCILIATION_CHECK_MODULES` (settings list this module by default).

erp_payment_transfer: every ERP payment request the platform approved and executed (it
reached `transfer_created` by `known_at`) matches exactly one transfer, and that transfer
has the request's amount (on the side the ERP fixed: source or target), currency and
vendor (the beneficiary the request was approved for, in the request's profile). The
transfers counted are the one the request links and any transfer made for it
(`customer_transaction_id` = `erp-request-<id>`, what `fintech.payments` gives each), so a
link to the wrong transfer or a second transfer shows too.

As every check, it reads the world as known at `ctx.known_at` (transitions and transfers
created up to then); the amounts compared are the rows' own, which never change after
creation.
"""

from __future__ import annotations

from django.db import connection

from fintech.payments.models import PaymentRequest, PaymentRequestTransition
from fintech.transfers.models import Transfer
from integrations.reconciliation.checks import CheckContext, register_check
from integrations.reconciliation.mismatches import Exception_

_REQUESTS = PaymentRequest._meta.db_table
_TRANSITIONS = PaymentRequestTransition._meta.db_table
_TRANSFERS = Transfer._meta.db_table

_SQL = f"""
    WITH executed AS (
        SELECT r.id, r.erp_payment_id, r.profile_id, r.amount_side, r.amount_minor, r.currency,
               r.beneficiary_id, r.transfer_id
        FROM {_REQUESTS} r
        WHERE EXISTS (SELECT 1 FROM {_TRANSITIONS} tt
                      WHERE tt.payment_request_id = r.id AND tt.target_state = 'transfer_created'
                        AND tt.occurred_at <= %(known)s))
    SELECT x.id, x.erp_payment_id, x.amount_side, x.amount_minor, x.currency, x.beneficiary_id,
           x.transfer_id, x.profile_id,
           coalesce(json_agg(json_build_object(
               'id', t.id, 'reference', t.reference, 'profile', t.profile_id,
               'beneficiary', t.beneficiary_id,
               'source', json_build_array(t.source_amount_minor, t.source_currency),
               'target', json_build_array(t.target_amount_minor, t.target_currency))
               ORDER BY t.id) FILTER (WHERE t.id IS NOT NULL), '[]')
    FROM executed x
    LEFT JOIN {_TRANSFERS} t ON t.created_at <= %(known)s
         AND (t.id = x.transfer_id
              OR (t.profile_id = x.profile_id
                  AND t.customer_transaction_id = 'erp-request-' || x.id))
    GROUP BY x.id, x.erp_payment_id, x.amount_side, x.amount_minor, x.currency,
             x.beneficiary_id, x.transfer_id, x.profile_id
    ORDER BY x.id
"""  # noqa: S608 (table names from the models, values as parameters)


def _problems(
    *, side: str, amount: int, currency: str, beneficiary: int, linked: int | None,
    profile: int, transfers: list[dict],
) -> list[str]:  # fmt: skip
    if len(transfers) != 1:
        return [f"{len(transfers)} transfers"]
    (t,) = transfers
    problems = []
    if linked != t["id"]:
        problems.append(f"linked to transfer {linked}, made as {t['reference']}")
    their_amount, their_currency = t[side]
    if their_amount != amount:
        problems.append(f"{side} amount {their_amount} not {amount}")
    if their_currency != currency:
        problems.append(f"{side} currency {their_currency} not {currency}")
    if t["beneficiary"] != beneficiary or t["profile"] != profile:
        problems.append(f"pays beneficiary {t['beneficiary']}, not the vendor's {beneficiary}")
    return problems


@register_check(
    "erp_payment_transfer",
    "an approved ERP payment without exactly one transfer of its amount, currency and vendor",
)
def erp_payment_transfer(ctx: CheckContext) -> list[Exception_]:
    with connection.cursor() as cursor:
        cursor.execute(_SQL, {"known": ctx.known_at})
        rows = cursor.fetchall()
    found = []
    for rid, erp_id, side, amount, ccy, beneficiary, linked, profile, transfers in rows:
        problems = _problems(
            side=side, amount=amount, currency=ccy, beneficiary=beneficiary, linked=linked,
            profile=profile, transfers=transfers,
        )  # fmt: skip
        if not problems:
            continue
        paid = [t[side][0] for t in transfers if t[side][1] == ccy]
        found.append(
            Exception_(
                key=f"erp:{rid}",
                detail=f"ERP payment {erp_id} (request {rid}): " + "; ".join(problems),
                ours={
                    "payment_request": rid,
                    "erp_payment_id": erp_id,
                    "amount_side": side,
                    "amount_minor": amount,
                    "beneficiary": beneficiary,
                },
                theirs={"transfers": transfers},
                currency=ccy,
                difference_minor=sum(paid) - amount,
            )
        )
    return found
