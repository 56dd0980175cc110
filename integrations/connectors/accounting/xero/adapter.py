"""The Xero adapter the sync engine calls: one function per action, table-driven.

Each action builds its body from the ledger's facts (facts.py) with the pure mapping
(mapping.py), looks the object up by our reference, and creates it only when Xero has none:
a replayed event, a retried job or a worker killed after Xero answered never makes a second
object. Writes carry an Idempotency-Key derived from the job (the same on every retry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings

from integrations.connectors.accounting import books, facts, jobs
from integrations.connectors.accounting.books import roles_in as roles_in
from integrations.connectors.accounting.xero import client as xero
from integrations.connectors.accounting.xero import mapping, roles
from integrations.errors import PermanentError
from integrations.sync.adapters import (
    AccountInfo,
    JobContext,
    OAuthConfig,
    Organisation,
    Role,
    Skipped,
    Synced,
    Tenant,
)
from integrations.sync.models import Connection, SyncJob


@dataclass(frozen=True)
class Write:
    """One object to make in Xero: where, under which reference, and its body."""

    collection: str  # "Invoices"
    id_field: str  # "InvoiceID"
    ref_field: str  # the field holding our reference, for the look-up
    body: dict[str, Any]

    @property
    def item(self) -> dict[str, Any]:
        item: dict[str, Any] = self.body[self.collection][0]
        return item

    @property
    def reference(self) -> str:
        return str(self.item[self.ref_field])


def _key(job: SyncJob, step: str = "") -> str:
    # Stable across retries of this job, different for each of its writes.
    return f"fintech-{job.connection_id}-{job.pk}{'-' + step if step else ''}"


def _summary(item: dict[str, Any]) -> dict[str, str]:
    return {
        "total": str(item.get("Total", item.get("Amount", ""))),
        "currency": str(item.get("CurrencyCode", "")),
        "status": str(item.get("Status", "")),
    }


def _make(client: xero.XeroClient, job: SyncJob, write: Write, *, step: str = "") -> Synced:
    """Look up by our reference; create only when Xero has none (with the connection's tax
    and tracking settings on its lines)."""
    found = client.find(write.collection, field=write.ref_field, value=write.reference)
    body = mapping.with_line_settings(
        write.body,
        tax_type=client.connection.tax_type,
        tracking=client.connection.tracking or (),
    )
    item = found or client.put(write.collection, body, key=_key(job, step))
    return Synced(
        external_id=str(item[write.id_field]),
        external_version=str(item.get("UpdatedDateUTC", "")),
        external_number=write.reference,
        payload_hash=jobs.payload_hash(write.body),
        summary=_summary(item),
    )


# --- the actions -----------------------------------------------------------------------


def _contact(client: xero.XeroClient, context: JobContext) -> Synced | Skipped:
    c = facts.contact_facts(profile_id=int(context.job.object_id))
    return _make(
        client, context.job, Write("Contacts", "ContactID", "ContactNumber", mapping.contact(c))
    )


def _fee_invoice(client: xero.XeroClient, context: JobContext) -> Synced | Skipped:
    t = facts.transfer_facts(transfer_id=jobs.transfer_id(context.job))
    body = mapping.fee_invoice(t, context.roles, contact_id=context.prerequisite_external_id)
    return _make(client, context.job, Write("Invoices", "InvoiceID", "InvoiceNumber", body))


def _fx_margin(client: xero.XeroClient, context: JobContext) -> Synced | Skipped:
    t = facts.transfer_facts(transfer_id=jobs.transfer_id(context.job))
    body = mapping.fx_margin_receipt(
        t, roles_in(context.roles, t.target_currency), contact_id=context.prerequisite_external_id
    )
    return _make(
        client, context.job, Write("BankTransactions", "BankTransactionID", "Reference", body)
    )


def _fee_payment(client: xero.XeroClient, context: JobContext) -> Synced | Skipped:
    t = facts.transfer_facts(transfer_id=jobs.transfer_id(context.job))
    body = mapping.fee_payment(
        t, roles_in(context.roles, t.source_currency), invoice_id=context.prerequisite_external_id
    )
    return _make(client, context.job, Write("Payments", "PaymentID", "Reference", body))


def _fee_credit_note(client: xero.XeroClient, context: JobContext) -> Synced | Skipped:
    """A refund or a failure: a credit note for the fee, applied to the original invoice
    while it is unpaid, else paid out from client money (an invoice is never deleted)."""
    job = context.job
    source, t = jobs.given_back(job)
    contact_id = jobs.contact_id(context.connection, jobs.profile_id_of(t.contact.reference))
    body = mapping.fee_credit_note(source, context.roles, contact_id=contact_id)
    synced = _make(client, job, Write("CreditNotes", "CreditNoteID", "CreditNoteNumber", body))
    note = client.get("CreditNotes", synced.external_id) or {}
    remaining = Decimal(str(note.get("RemainingCredit", "0") or "0"))
    if remaining <= 0:
        return synced  # applied or paid out already (a retry after a crash)
    invoice = client.get("Invoices", context.prerequisite_external_id) or {}
    due = Decimal(str(invoice.get("AmountDue", "0") or "0"))
    on = source.booked_on if job.object_type == "refund" else (t.unwound_on or t.booked_on)
    if due > 0:
        allocation = mapping.credit_note_allocation(
            invoice_id=context.prerequisite_external_id, amount=min(due, remaining), date=on
        )
        client.request(
            "PUT",
            f"CreditNotes/{synced.external_id}/Allocations",
            body=allocation,
            idempotency_key=_key(job, "allocation"),
        )
    elif job.object_type == "refund":
        refund = mapping.credit_note_refund(
            source,
            roles_in(context.roles, t.source_currency),
            credit_note_id=synced.external_id,
            amount_given=remaining,
        )
        _make(client, job, Write("Payments", "PaymentID", "Reference", refund), step="refund")
    return synced


def _fx_margin_reversal(client: xero.XeroClient, context: JobContext) -> Synced | Skipped:
    source, t = jobs.given_back(context.job)
    contact_id = jobs.contact_id(context.connection, jobs.profile_id_of(t.contact.reference))
    body = mapping.fx_margin_reversal(
        source, roles_in(context.roles, t.target_currency), contact_id=contact_id
    )
    return _make(
        client, context.job, Write("BankTransactions", "BankTransactionID", "Reference", body)
    )


def _funding(client: xero.XeroClient, context: JobContext) -> Synced | Skipped:
    f = facts.funding_facts(entry_id=int(context.job.object_id))
    body = mapping.funding_receipt(
        f, roles_in(context.roles, f.currency), contact_id=context.prerequisite_external_id
    )
    return _make(
        client, context.job, Write("BankTransactions", "BankTransactionID", "Reference", body)
    )


def _supplier_payout(client: xero.XeroClient, context: JobContext) -> Synced | Skipped:
    """The customer's books: a bill payment (and the fee as spend money) when the payout
    names a bill, else spend money with the fee as its own line."""
    job = context.job
    t = facts.transfer_facts(transfer_id=jobs.transfer_id(job))
    mapped = roles_in(context.roles, t.source_currency)
    bill = (
        client.find("Invoices", field="InvoiceNumber", value=t.bill_reference)
        if t.bill_reference
        else None
    )
    if bill is None:
        body = mapping.supplier_payout(t, mapped, bill_id=None)
        return _make(client, job, Write("BankTransactions", "BankTransactionID", "Reference", body))
    body = mapping.supplier_payout(
        t, roles_in(context.roles, t.target_currency), bill_id=str(bill["InvoiceID"])
    )
    synced = _make(client, job, Write("Payments", "PaymentID", "Reference", body))
    if t.fee_minor > 0:
        fee = mapping.bank_fee_spend(t, mapped, provider_name=settings.PLATFORM_NAME)
        _make(
            client,
            job,
            Write("BankTransactions", "BankTransactionID", "Reference", fee),
            step="fee",
        )
    return synced


def _customer_funding(client: xero.XeroClient, context: JobContext) -> Synced | Skipped:
    f = facts.funding_facts(entry_id=int(context.job.object_id))
    body = mapping.customer_funding_receipt(f, roles_in(context.roles, f.currency))
    return _make(
        client, context.job, Write("BankTransactions", "BankTransactionID", "Reference", body)
    )


def _journal(client: xero.XeroClient, context: JobContext) -> Synced | Skipped:
    day_text, _, currency = context.job.object_id.partition(":")
    day = date.fromisoformat(day_text)
    base = context.connection.base_currency
    if not mapping.journal_currency_supported(currency, base):
        return Skipped(
            f"Xero manual journals post in the organisation's base currency ({base}); "
            f"{currency} movements of {day} are not journaled there"
        )
    movement = next(
        (m for m in facts.daily_movements(start=day, end=day) if m.currency == currency), None
    )
    if movement is None:
        return Skipped(f"no ledger movements in {currency} on {day}")
    body = mapping.daily_journal(movement, context.roles, base_currency=base)
    return _make(client, context.job, Write("ManualJournals", "ManualJournalID", "Narration", body))


ACTIONS: dict[str, Callable[[xero.XeroClient, JobContext], Synced | Skipped]] = {
    "contact": _contact,
    "fee_invoice": _fee_invoice,
    "fx_margin": _fx_margin,
    "fee_payment": _fee_payment,
    "fee_credit_note": _fee_credit_note,
    "fx_margin_reversal": _fx_margin_reversal,
    "funding": _funding,
    "supplier_payout": _supplier_payout,
    "customer_funding": _customer_funding,
    "journal": _journal,
}


def roles_for(connection: Connection) -> tuple[Role, ...]:
    """The account-mapping rows of a connection (books.roles_for with Xero's roles)."""
    return books.roles_for(connection, platform=roles.ROLES_PLATFORM, customer=roles.ROLES_CUSTOMER)


class XeroAdapter:
    provider: str = xero.PROVIDER
    kind: str = Connection.Kind.ACCOUNTING.value

    def oauth(self) -> OAuthConfig:
        return OAuthConfig(
            client_id=settings.XERO_CLIENT_ID,
            client_secret=settings.XERO_CLIENT_SECRET,
            authorize_url=settings.XERO_AUTHORIZE_URL,
            token_url=settings.XERO_TOKEN_URL,
            revoke_url=settings.XERO_REVOKE_URL,
            scope=settings.XERO_SCOPES,
            allow_private=xero._allow_private(),
        )

    def tenants(self, *, access_token: str, callback: Mapping[str, str]) -> list[Tenant]:
        return xero.tenants(access_token=access_token)

    def organisation(self, *, connection: Connection) -> Organisation:
        with xero.XeroClient(connection) as client:
            org = client.organisation()
            codes = [str(c.get("Code", "")) for c in client.currencies()]
        base = str(org.get("BaseCurrency", ""))
        return Organisation(
            base_currency=base,
            currencies=tuple(sorted({base, *codes} - {""})),
            name=str(org.get("Name", "")),
        )

    def accounts(self, *, connection: Connection) -> list[AccountInfo]:
        with xero.XeroClient(connection) as client:
            rows = client.accounts()
        return [
            AccountInfo(
                external_id=str(a.get("AccountID", "")),
                code=str(a.get("Code", "") or ""),
                name=str(a.get("Name", "")),
                type=str(a.get("Type", "")),
                account_class=str(a.get("Class", "")),
                status=str(a.get("Status", "")),
                currency=str(a.get("CurrencyCode", "") or ""),
            )
            for a in rows
        ]

    def roles(self, *, connection: Connection) -> tuple[Role, ...]:
        return roles_for(connection)

    def perform(self, context: JobContext) -> Synced | Skipped:
        action = ACTIONS.get(context.job.action)
        if action is None:
            raise PermanentError(f"xero cannot {context.job.action!r}")
        self._check_currency(context)
        try:
            with xero.XeroClient(context.connection) as client:
                return action(client, context)
        except mapping.NothingToMap as exc:
            return Skipped(exc.message)

    def _check_currency(self, context: JobContext) -> None:
        """A currency the organisation has not enabled is refused before any call."""
        if context.job.object_type not in ("transfer", "refund"):
            return
        enabled = set(context.connection.currencies or [])
        if not enabled:
            return
        from fintech.transfers.models import Transfer

        # The transfer's two currency codes (one small read; the action builds its facts).
        pair = (
            Transfer.objects.filter(reference=context.job.object_id)
            .values_list("source_currency", "target_currency")
            .first()
        )
        if pair is None:
            raise PermanentError(f"transfer {context.job.object_id} does not exist")
        margin = context.job.action in ("fx_margin", "fx_margin_reversal")
        missing = sorted({pair[1] if margin else pair[0]} - enabled)
        if missing:
            raise PermanentError(
                f"currency {', '.join(missing)} is not enabled in the Xero organisation "
                f"{context.connection.tenant_name!r}: enable it in Xero, then retry"
            )

    def disconnect(self, *, connection: Connection) -> None:
        xero.tenant_disconnect(connection=connection)
