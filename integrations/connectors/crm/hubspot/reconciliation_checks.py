"""The refund check for reconciliation (issue 17): every refund updated the customer record
in the ledger, the CRM and the books. Registered at start-up through
`RECONCILIATION_CHECK_MODULES` (settings list this module by default).

refund_customer_record, one exception per refunded transfer (a `refunded` transition by
`known_at`) with what is missing:

- ledger: its refund entry (`transfer:<reference>:refund`);
- the `payment.refunded` event itself (the CRM and the books hear of a refund only there);
- CRM: for a business profile, on each HubSpot connection that existed when the refund
  happened and is not disconnected, the profile's `update:<event>` job HubSpot's handler
  makes (integrations/connectors/crm/hubspot/handlers.py), synced or skipped;
- accounting: the `refund` reversal jobs the accounting handler made for it, each synced or
  skipped (a refund of a transfer that never reached the books makes none, rightly).

Sync job states are current (as for the other sync checks), the rest as known at `known_at`.
"""

from __future__ import annotations

from django.db import connection

from fintech.core.models import OutboxEvent
from fintech.customers.models import Profile
from fintech.transfers.models import Transfer, TransferTransition
from integrations.connectors.crm.hubspot.client import PROVIDER
from integrations.reconciliation.checks import CheckContext, register_check
from integrations.reconciliation.mismatches import Exception_
from integrations.sync.models import Connection, SyncJob

_DONE = ("synced", "skipped")

_SQL = f"""
    WITH refunded AS (
        SELECT t.id, t.reference, t.profile_id, t.source_currency, t.source_amount_minor
        FROM {Transfer._meta.db_table} t
        WHERE EXISTS (SELECT 1 FROM {TransferTransition._meta.db_table} tt
                      WHERE tt.transfer_id = t.id AND tt.target_state = 'refunded'
                        AND tt.occurred_at <= %(known)s))
    SELECT r.reference, r.source_currency, r.source_amount_minor,
           EXISTS (SELECT 1 FROM ledger_journalentry e
                   WHERE e.idempotency_key = 'transfer:' || r.reference || ':refund'
                     AND e.created_at <= %(known)s),
           ev.id IS NOT NULL,
           (SELECT coalesce(json_agg(json_build_object('connection', c.id, 'state', j.state)
                                     ORDER BY c.id), '[]')
            FROM {Connection._meta.db_table} c
            LEFT JOIN {SyncJob._meta.db_table} j ON j.connection_id = c.id
                 AND j.object_type = 'profile' AND j.object_id = r.profile_id::text
                 AND j.action = 'update:' || replace(ev.id::text, '-', '')
            WHERE p.kind = 'business' AND ev.id IS NOT NULL AND c.provider = %(crm)s
              AND c.created_at <= ev.occurred_at
              AND c.status NOT IN ('disconnected', 'authorizing')),
           (SELECT coalesce(json_agg(json_build_object('connection', c.id, 'action', j.action,
                                                       'state', j.state) ORDER BY j.id), '[]')
            FROM {SyncJob._meta.db_table} j
            JOIN {Connection._meta.db_table} c ON c.id = j.connection_id
            WHERE c.kind = 'accounting' AND j.object_type = 'refund'
              AND j.object_id = r.reference)
    FROM refunded r
    JOIN {Profile._meta.db_table} p ON p.id = r.profile_id
    LEFT JOIN LATERAL (
        SELECT o.id, o.occurred_at FROM {OutboxEvent._meta.db_table} o
        WHERE o.type = 'payment.refunded' AND o.payload->>'reference' = r.reference
          AND o.occurred_at <= %(known)s
        ORDER BY o.occurred_at LIMIT 1) ev ON true
    ORDER BY r.reference
"""  # noqa: S608 (table names from the models, values as parameters)


@register_check(
    "refund_customer_record",
    "a refund that did not update the customer record in the ledger, the CRM or the books",
)
def refund_customer_record(ctx: CheckContext) -> list[Exception_]:
    with connection.cursor() as cursor:
        cursor.execute(_SQL, {"known": ctx.known_at, "crm": PROVIDER})
        rows = cursor.fetchall()
    found = []
    for reference, ccy, amount, in_ledger, announced, crm, books in rows:
        missing = []
        if not in_ledger:
            missing.append("ledger: no refund entry")
        if not announced:
            missing.append("no payment.refunded event")
        for job in crm:
            if job["state"] not in _DONE:
                missing.append(f"CRM connection {job['connection']}: {job['state'] or 'no job'}")
        for job in books:
            if job["state"] not in _DONE:
                missing.append(
                    f"accounting connection {job['connection']} {job['action']}: {job['state']}"
                )
        if missing:
            found.append(
                Exception_(
                    key=f"refund:{reference}",
                    detail=f"refund of transfer {reference}: " + "; ".join(missing),
                    ours={"reference": reference, "in_ledger": in_ledger},
                    theirs={"crm": crm, "accounting": books},
                    currency=ccy,
                    difference_minor=amount,
                )
            )
    return found
