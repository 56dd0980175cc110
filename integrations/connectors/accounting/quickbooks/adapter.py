"""The QuickBooks Online adapter the sync engine calls: one function per action, table-driven.

Each action builds its body from the ledger's facts (facts.py) with the pure mapping
(mapping.py), looks the object up by our reference (DocNumber, or the Customer's DisplayName
suffix) and creates it only when QuickBooks has none: a replayed event, a retried job or a
worker killed after QuickBooks answered never makes a second object. Every write carries a
`requestid` derived from the job (the same on every retry). A foreign currency is checked
against the company (multicurrency on, the currency added) before any call, and carries the
ExchangeRate the ledger used (currency.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from django.conf import settings

from integrations.connectors.accounting import books, facts, jobs
from integrations.connectors.accounting.books import roles_in
from integrations.connectors.accounting.quickbooks import client as qbo
from integrations.connectors.accounting.quickbooks import currency, mapping, roles
from integrations.connectors.accounting.quickbooks.customers import customer_sync
from integrations.connectors.accounting.quickbooks.followup import theirs_of
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

Action = Callable[[qbo.QuickBooksClient, JobContext], Synced | Skipped]
# Where our reference is on an entity, when not its DocNumber.
REFERENCE_FIELD = {"Payment": "PaymentRefNum"}


def summary(entity: str, item: dict[str, Any]) -> dict[str, str]:
    """What we keep of an object QuickBooks holds (compared again by followup.py)."""
    return {**theirs_of(item), "entity": entity}


def _make(
    client: qbo.QuickBooksClient, job: SyncJob, entity: str, body: dict[str, Any], step: str = ""
) -> Synced:
    """Look up by our DocNumber (a Payment's PaymentRefNum); create only when QuickBooks has
    none."""
    field = REFERENCE_FIELD.get(entity, "DocNumber")
    number = str(body[field])
    found = client.find_by_doc_number(entity, number, field=field)
    item = found or client.create(
        entity, body, requestid=qbo.requestid(job.connection_id, job.pk, step)
    )
    return Synced(
        external_id=str(item["Id"]),
        external_version=str(item.get("SyncToken", "")),
        external_number=number,
        payload_hash=jobs.payload_hash(body),
        summary=summary(entity, item),
    )


def _money(context: JobContext, code: str, t: facts.TransferFacts | None = None) -> dict[str, Any]:
    """The currency arguments of a builder: the home currency and the rate."""
    rate = currency.exchange_rate(context.connection, code, transfer=t)
    return {"home_currency": context.connection.base_currency, "exchange_rate": rate}


# --- the actions ---------------------------------------------------------------------


def _contact(client: qbo.QuickBooksClient, context: JobContext) -> Synced | Skipped:
    c = facts.contact_facts(profile_id=int(context.job.object_id))
    item = customer_sync(client, context.job, c)
    return Synced(
        external_id=str(item["Id"]),
        external_version=str(item.get("SyncToken", "")),
        external_number=c.reference,
        payload_hash=jobs.payload_hash(mapping.customer(c)),
        summary=summary("Customer", item),
    )


def _naming_customer(
    client: qbo.QuickBooksClient,
    job: SyncJob,
    entity: str,
    body: dict[str, Any],
    *,
    customer_id: str,
    reference: str,
) -> Synced:
    """`_make` for a document that names the Customer. QuickBooks refuses one naming a
    Customer made inactive ("deleted") since with a 610 Fault; that refusal is said as such
    (read back only then: no extra call on the way that works)."""
    try:
        return _make(client, job, entity, body)
    except qbo.QuickBooksFault as exc:
        if not customer_id:
            raise
        current = client.read("Customer", customer_id)
        if current is not None and current.get("Active") is not False:
            raise
        raise PermanentError(
            f"the QuickBooks Customer {customer_id} of {reference} is deleted (inactive) there: "
            "make it active again in QuickBooks, then retry (nothing was posted)"
        ) from exc


def _receivable(context: JobContext, t: facts.TransferFacts) -> bool:
    """Whether the fee goes through the Customer's receivable (journal, then Payment; a
    RefundReceipt when refunded): QuickBooks keeps one currency per Customer and refuses an
    A/R line, a Payment or a RefundReceipt in another, so a fee in another currency than the
    Customer's is taken from client money directly (no Payment then). Read from the contact
    job's summary (a Customer's currency never changes in QuickBooks)."""
    profile_id = jobs.profile_id_of(t.contact.reference)
    summary = (
        SyncJob.objects.filter(
            connection=context.connection,
            object_type="profile",
            object_id=str(profile_id),
            action="contact",
            state=SyncJob.State.SYNCED,
        )
        .values_list("external_summary", flat=True)
        .first()
    )
    code = str((summary or {}).get("currency", "")) or context.connection.base_currency
    return code == t.source_currency


def _fee_journal(client: qbo.QuickBooksClient, context: JobContext) -> Synced | Skipped:
    t = facts.transfer_facts(transfer_id=jobs.transfer_id(context.job))
    customer_id = context.prerequisite_external_id
    body = mapping.fee_journal(
        t,
        roles_in(context.roles, t.source_currency),
        customer_id=customer_id or None,
        receivable=_receivable(context, t),
        **_money(context, t.source_currency, t),
    )
    return _naming_customer(
        client,
        context.job,
        "JournalEntry",
        body,
        customer_id=customer_id,
        reference=t.contact.reference,
    )


def _fx_margin_journal(client: qbo.QuickBooksClient, context: JobContext) -> Synced | Skipped:
    t = facts.transfer_facts(transfer_id=jobs.transfer_id(context.job))
    body = mapping.fx_margin_journal(
        t, roles_in(context.roles, t.target_currency), **_money(context, t.target_currency, t)
    )
    return _make(client, context.job, "JournalEntry", body)


def _fee_payment(client: qbo.QuickBooksClient, context: JobContext) -> Synced | Skipped:
    """The completed transfer: a Payment applied to the fee journal's receivable (the job
    depends on the fee journal's: its Id is the prerequisite's)."""
    t = facts.transfer_facts(transfer_id=jobs.transfer_id(context.job))
    if t.fee_minor > 0 and not _receivable(context, t):
        return Skipped(
            f"transfer {t.reference}: its {t.source_currency} fee was taken from client money "
            "directly (the QuickBooks Customer keeps another currency): nothing owed to pay"
        )
    customer_id = jobs.contact_id(context.connection, jobs.profile_id_of(t.contact.reference))
    body = mapping.fee_payment(
        t,
        roles_in(context.roles, t.source_currency),
        journal_id=context.prerequisite_external_id,
        customer_id=customer_id,
        **_money(context, t.source_currency, t),
    )
    return _naming_customer(
        client, context.job, "Payment", body, customer_id=customer_id, reference=t.contact.reference
    )


def _fee_item(client: qbo.QuickBooksClient, job: SyncJob, wanted: dict[str, Any]) -> str:
    """The Id of the fee Item (found by Name, made once with the job's requestid); one that
    posts to another income account than the mapped fee_revenue is refused, not used."""
    name = str(wanted["Name"])
    statement = f"select * from Item where Name = '{name}'"  # noqa: S608  (a constant name)
    item = client.find(statement, "Item") or client.create(
        "Item", wanted, requestid=qbo.requestid(job.connection_id, job.pk, "item")
    )
    income = str((item.get("IncomeAccountRef") or {}).get("value", ""))
    mapped = str(wanted["IncomeAccountRef"]["value"])
    if income != mapped:
        raise PermanentError(
            f"the QuickBooks Item {name!r} ({item.get('Id')}) posts to income account {income}, "
            f"the mapping's fee_revenue is {mapped}: point the Item at {mapped} in QuickBooks "
            "(or rename it to have a new one made), then retry (nothing was posted)"
        )
    return str(item["Id"])


def _fee_reversal(client: qbo.QuickBooksClient, context: JobContext) -> Synced | Skipped:
    """A refund: the paid fee given back by a RefundReceipt from client money. A failure or
    cancellation (before any Payment): the fee journal mirrored (nothing is deleted)."""
    job = context.job
    source, t = jobs.given_back(job)
    customer_id = jobs.contact_id(context.connection, jobs.profile_id_of(t.contact.reference))
    mapped = roles_in(context.roles, t.source_currency)
    money = _money(context, t.source_currency, t)
    receivable = _receivable(context, t)
    if receivable and isinstance(source, facts.RefundFacts):
        if source.fee_minor <= 0:
            return Skipped(f"transfer {t.reference}: no fee given back by the refund")
        body = mapping.fee_refund_receipt(
            source,
            mapped,
            item_id=_fee_item(client, job, mapping.fee_item(mapped)),
            customer_id=customer_id,
            **money,
        )
        return _naming_customer(
            client, job, "RefundReceipt", body, customer_id=customer_id,
            reference=t.contact.reference,
        )  # fmt: skip
    body = mapping.fee_reversal_journal(
        source, mapped, customer_id=customer_id, receivable=receivable, **money
    )
    return _make(client, job, "JournalEntry", body)


def _fx_margin_reversal(client: qbo.QuickBooksClient, context: JobContext) -> Synced | Skipped:
    source, t = jobs.given_back(context.job)
    body = mapping.fx_margin_reversal_journal(
        source, roles_in(context.roles, t.target_currency), **_money(context, t.target_currency, t)
    )
    return _make(client, context.job, "JournalEntry", body)


def _funding(client: qbo.QuickBooksClient, context: JobContext) -> Synced | Skipped:
    f = facts.funding_facts(entry_id=int(context.job.object_id))
    customer_id = context.prerequisite_external_id
    body = mapping.funding_deposit(
        f, roles_in(context.roles, f.currency), customer_id=customer_id or None,
        **_money(context, f.currency),
    )  # fmt: skip
    return _naming_customer(
        client, context.job, "Deposit", body, customer_id=customer_id, reference=f.contact.reference
    )


def _supplier_payout(client: qbo.QuickBooksClient, context: JobContext) -> Synced | Skipped:
    """The customer's books: a BillPayment of the bill the payout names (and the fee as its
    own Purchase), else one Purchase with the fee as its own line."""
    job = context.job
    t = facts.transfer_facts(transfer_id=jobs.transfer_id(job))
    bill = client.find_by_doc_number("Bill", t.bill_reference) if t.bill_reference else None
    if bill is None:
        body = mapping.supplier_payout(
            t, roles_in(context.roles, t.source_currency), **_money(context, t.source_currency, t)
        )
        return _make(client, job, "Purchase", body)
    body = mapping.supplier_payout(
        t,
        roles_in(context.roles, t.target_currency),
        bill_id=str(bill["Id"]),
        vendor_id=str((bill.get("VendorRef") or {}).get("value", "")),
        **_money(context, t.target_currency, t),
    )
    synced = _make(client, job, "BillPayment", body)
    if t.fee_minor > 0:
        fee = mapping.bank_fee_purchase(
            t, roles_in(context.roles, t.source_currency), **_money(context, t.source_currency, t)
        )
        _make(client, job, "Purchase", fee, step="fee")
    return synced


def _customer_funding(client: qbo.QuickBooksClient, context: JobContext) -> Synced | Skipped:
    f = facts.funding_facts(entry_id=int(context.job.object_id))
    body = mapping.customer_funding_deposit(
        f, roles_in(context.roles, f.currency), **_money(context, f.currency)
    )
    return _make(client, context.job, "Deposit", body)


def _journal(client: qbo.QuickBooksClient, context: JobContext) -> Synced | Skipped:
    day_text, _, code = context.job.object_id.partition(":")
    day = date.fromisoformat(day_text)
    movement = next(
        (m for m in facts.daily_movements(start=day, end=day) if m.currency == code), None
    )
    if movement is None:
        return Skipped(f"no ledger movements in {code} on {day}")
    body = mapping.daily_journal(movement, context.roles, **_money(context, code))
    return _make(client, context.job, "JournalEntry", body)


ACTIONS: dict[str, Action] = {
    "contact": _contact,
    "fee_journal": _fee_journal,
    "fx_margin_journal": _fx_margin_journal,
    "fee_payment": _fee_payment,
    "fee_reversal": _fee_reversal,
    "fx_margin_reversal": _fx_margin_reversal,
    "funding": _funding,
    "supplier_payout": _supplier_payout,
    "customer_funding": _customer_funding,
    "journal": _journal,
}


def roles_for(connection: Connection) -> tuple[Role, ...]:
    """The account-mapping rows of a connection (books.roles_for with QuickBooks' roles)."""
    return books.roles_for(connection, platform=roles.ROLES_PLATFORM, customer=roles.ROLES_CUSTOMER)


class QuickBooksAdapter:
    provider: str = qbo.PROVIDER
    kind: str = Connection.Kind.ACCOUNTING.value
    # No tax type or tracking categories on our lines (the admin's mapping screen hides them).
    line_settings: bool = False

    def oauth(self) -> OAuthConfig:
        return OAuthConfig(
            client_id=settings.QUICKBOOKS_CLIENT_ID,
            client_secret=settings.QUICKBOOKS_CLIENT_SECRET,
            authorize_url=settings.QUICKBOOKS_AUTHORIZE_URL,
            token_url=settings.QUICKBOOKS_TOKEN_URL,
            revoke_url=settings.QUICKBOOKS_REVOKE_URL,
            scope=settings.QUICKBOOKS_SCOPES,
            allow_private=qbo._allow_private(),
            revoke_json=True,
        )

    def tenants(self, *, access_token: str, callback: Mapping[str, str]) -> list[Tenant]:
        return qbo.tenants(access_token=access_token, realm_id=callback.get("realmId", ""))

    def organisation(self, *, connection: Connection) -> Organisation:
        with qbo.QuickBooksClient(connection) as client:
            info = client.company_info()
            prefs = client.preferences().get("CurrencyPrefs") or {}
            multicurrency = bool(prefs.get("MultiCurrencyEnabled"))
            others = client.currencies() if multicurrency else []
        home = str((prefs.get("HomeCurrency") or {}).get("value", ""))
        codes = {str(c.get("Code", "")) for c in others if c.get("Active", True)}
        return Organisation(
            base_currency=home,
            currencies=tuple(sorted({home, *codes} - {""})),
            name=str(info.get("CompanyName", "")),
        )

    def accounts(self, *, connection: Connection) -> list[AccountInfo]:
        with qbo.QuickBooksClient(connection) as client:
            rows = client.accounts()
        return [
            AccountInfo(
                external_id=str(a.get("Id", "")),
                # Bodies name accounts by Id (QuickBooks' AcctNum is optional, often off).
                code=str(a.get("Id", "")),
                name=str(a.get("FullyQualifiedName") or a.get("Name", "")),
                type=str(a.get("AccountType", "")),
                account_class=str(a.get("Classification", "")),
                status="ACTIVE" if a.get("Active", True) else "INACTIVE",
                currency=str((a.get("CurrencyRef") or {}).get("value", "")),
            )
            for a in rows
        ]

    def roles(self, *, connection: Connection) -> tuple[Role, ...]:
        return roles_for(connection)

    def perform(self, context: JobContext) -> Synced | Skipped:
        action = ACTIONS.get(context.job.action)
        if action is None:
            raise PermanentError(f"quickbooks cannot {context.job.action!r}")
        try:
            with qbo.QuickBooksClient(context.connection) as client:
                return action(client, context)
        except mapping.NothingToMap as exc:
            return Skipped(exc.message)

    def disconnect(self, *, connection: Connection) -> None:
        """Intuit has no per-company disconnect: revoking the token (the engine) is it."""
        return None
