"""Where the exception inbox's items come from: one definition per source.

Each source says which of its rows are a problem now, as an ORM queryset annotated with the
item's columns (`x_sid`, `x_severity`, `x_title`, `x_since`, `x_owner`). The scan
(scan.py) wraps that query in set-based SQL, so no source row is ever loaded into Python.
A role sees a source's items only with the view permission of the source's model (any one
of `permissions`), so the inbox never shows more than the source's own admin would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, Left
from django.urls import NoReverseMatch, reverse

from fintech.compliance.models import ACTIVE_CASE_STATES, CaseItem, ComplianceStatus, ScreeningHit
from fintech.compliance.models import Case as ComplianceCase
from fintech.core.models import DeadLetter
from fintech.disputes.models import Dispute
from fintech.payments.models import PaymentRequest
from fintech.transfers.models import Transfer
from integrations.models import ExceptionItem, InboundWebhook, WebhookDelivery
from integrations.reconciliation.checks import transfer_slas
from integrations.reconciliation.models import Mismatch
from integrations.sync.models import Connection, SyncJob, SyncMismatch

S = ExceptionItem.Source
SEV = ExceptionItem.Severity
TITLE_CHARS = 300


def _text(*parts: Any) -> Any:
    """A title built in SQL: plain strings are literal text, F() and functions the columns."""
    return Left(
        Concat(*[Value(p) if isinstance(p, str) else p for p in parts], output_field=CharField()),
        TITLE_CHARS,
    )


def _sid(field: str = "pk") -> Any:
    return Cast(field, output_field=CharField())


def _no_owner() -> Any:
    # Typed: an untyped NULL in a sub-select would be text, which bigint refuses.
    return Cast(Value(None), output_field=BigIntegerField())


def _items(
    qs: QuerySet[Any], *, sid: Any, severity: Any, title: Any, since: Any, owner: Any = None
) -> QuerySet[Any]:
    # No ORDER BY: the scan reads it as a set (a model's default ordering would sort it).
    return (
        qs.order_by()
        .annotate(
            x_sid=sid,
            x_severity=severity if not isinstance(severity, int) else Value(severity),
            x_title=title,
            x_since=since,
            x_owner=owner if owner is not None else _no_owner(),
        )
        .values("x_sid", "x_severity", "x_title", "x_since", "x_owner")
    )


@dataclass(frozen=True)
class Source:
    key: str
    # The role needs one of these to see the source's items (its model's view permission).
    permissions: tuple[str, ...]
    problems: Callable[[datetime], QuerySet[Any]]
    # The admin page of the source row (where the fixing action is), from the item's source_id.
    url_name: str
    fix: str
    url_args: Callable[[str], list[str]] = lambda sid: [sid]

    def link(self, source_id: str) -> str | None:
        name = self.url_name
        if self.key == S.CONNECTION:  # "accounting:12": each kind has its own admin
            kind, _, source_id = source_id.partition(":")
            name = CONNECTION_ADMINS.get(kind, "")
        try:
            return reverse(name, args=self.url_args(source_id)) if name else None
        except NoReverseMatch:
            return None


def sync_jobs(now: datetime) -> QuerySet[Any]:
    return _items(
        SyncJob.objects.filter(state__in=[SyncJob.State.FAILED, SyncJob.State.DEAD]),
        sid=_sid(),
        severity=Case(When(state=SyncJob.State.DEAD, then=Value(SEV.HIGH)), default=SEV.MEDIUM),
        title=_text(
            "Sync ",
            F("action"),
            " ",
            F("object_type"),
            " ",
            F("object_id"),
            " ",
            F("state"),
            ": ",
            Left("last_error", 150),
        ),
        since=F("updated_at"),
    )


def sync_mismatches(now: datetime) -> QuerySet[Any]:
    return _items(
        SyncMismatch.objects.filter(status=SyncMismatch.Status.OPEN),
        sid=_sid(),
        severity=SEV.MEDIUM,
        title=_text(
            "Mismatch ",
            F("kind"),
            ": ",
            F("object_type"),
            " ",
            F("object_id"),
            " ",
            Left("detail", 150),
        ),
        since=F("created_at"),
    )


def webhook_deliveries(now: datetime) -> QuerySet[Any]:
    dead = [WebhookDelivery.Status.EXHAUSTED, WebhookDelivery.Status.FAILED]
    return _items(
        WebhookDelivery.objects.filter(status__in=dead),
        sid=_sid(),
        severity=SEV.MEDIUM,
        title=_text(
            "Delivery of ",
            F("event_type"),
            " to endpoint ",
            _sid("endpoint_id"),
            " ",
            F("status"),
            ": ",
            Left("last_error", 150),
        ),
        since=Coalesce("last_attempt_at", "created_at"),
    )


def inbound_webhooks(now: datetime) -> QuerySet[Any]:
    return _items(
        InboundWebhook.objects.filter(status=InboundWebhook.Status.FAILED),
        sid=_sid(),
        severity=SEV.MEDIUM,
        title=_text(
            "Inbound ", F("provider"), " ", F("event_type"), " failed: ", Left("error", 150)
        ),
        since=F("received_at"),
    )


def transfers_stuck(now: datetime) -> QuerySet[Any]:
    """A transfer in one state beyond its SLA (the reconciliation's `transfer_stuck` hours)."""
    slas = {state: timedelta(hours=hours) for state, hours in transfer_slas().items()}
    since_field = {"created": "created_at", "funded": "funded_at", "processing": "submitted_at"}
    late = Q()
    began: list[When] = []
    for state, sla in slas.items():
        field = since_field.get(state)
        if field is None:
            continue
        late |= Q(state=state, **{f"{field}__lt": now - sla})
        # The item's age counts from when the SLA ran out, not from the state's start.
        began.append(
            When(state=state, then=ExpressionWrapper(F(field) + sla, output_field=DateTimeField()))
        )
    if not began:
        return Transfer.objects.none().values()
    return _items(
        Transfer.objects.filter(late),
        # The state is part of the identity: stuck again in a later state is a new problem.
        sid=Concat(_sid(), Value(":"), "state", output_field=CharField()),
        # Created but never funded is the customer's to finish; funded money is ours.
        severity=Case(When(state="created", then=Value(SEV.LOW)), default=SEV.HIGH),
        title=_text("Transfer ", F("reference"), " ", F("state"), " past its SLA"),
        since=Case(*began, output_field=DateTimeField()),
    )


def compliance_reviews(now: datetime) -> QuerySet[Any]:
    # The review's reason is a compliance note: never in the title (support sees titles).
    return _items(
        ComplianceStatus.objects.filter(review_required=True),
        sid=_sid(),
        severity=SEV.HIGH,
        title=_text("Compliance review required: ", F("profile__legal_name")),
        since=F("updated_at"),
    )


def compliance_cases(now: datetime) -> QuerySet[Any]:
    """An active compliance case until it is closed. High when escalated, past its due date
    or waiting for a second officer's approval. Compliance only (the title names the
    profile; the permission keeps support and finance out)."""
    urgent = Q(state="escalated") | Q(due_at__lte=now) | ~Q(proposed_decision="")
    return _items(
        ComplianceCase.objects.filter(state__in=ACTIVE_CASE_STATES),
        sid=_sid(),
        severity=Case(When(urgent, then=Value(SEV.HIGH)), default=SEV.MEDIUM),
        title=_text("Compliance case ", _sid(), " on ", F("profile__legal_name"), ": ",
                    F("state"),
                    Case(When(~Q(proposed_decision=""), then=Value(" (awaiting approval)")),
                         default=Value(""))),
        since=F("opened_at"),
        owner=Cast("assignee_id", output_field=BigIntegerField()),
    )  # fmt: skip


def screening_hits(now: datetime) -> QuerySet[Any]:
    """An open screening hit that is in no case (raised before cases existed): decided on its
    own in the hit admin."""
    in_case = CaseItem.objects.filter(source="screening_hit", source_id=OuterRef("pk"))
    return _items(
        ScreeningHit.objects.filter(status=ScreeningHit.Status.OPEN).filter(~Exists(in_case)),
        sid=_sid(),
        severity=SEV.HIGH,
        title=_text("Screening hit ", _sid(), " on ", F("profile__legal_name"),
                    " not in a case"),
        since=F("created_at"),
    )  # fmt: skip


def payments_held(now: datetime) -> QuerySet[Any]:
    return _items(
        PaymentRequest.objects.filter(state=PaymentRequest.State.HELD),
        sid=_sid(),
        severity=Case(When(suspicious_activity=True, then=Value(SEV.HIGH)), default=SEV.MEDIUM),
        title=_text("Payment request ", F("erp_payment_id"), " held: ", F("profile__legal_name")),
        since=F("updated_at"),
    )


def disputes_due(now: datetime) -> QuerySet[Any]:
    """An open dispute waiting on us past its deadline (one waiting for the customer's
    evidence is withdrawn by the deadline scan instead)."""
    waiting_on_us = [Dispute.State.OPENED, Dispute.State.UNDER_REVIEW]
    return _items(
        Dispute.objects.filter(state__in=waiting_on_us, respond_by__lte=now),
        # The state is part of the identity: overdue again under review is a new problem.
        sid=Concat(_sid(), Value(":"), "state", output_field=CharField()),
        severity=SEV.HIGH,
        title=_text("Dispute ", _sid(), " on ",
                    Coalesce("transfer__reference",
                             Concat(Value("funding "), Cast("funding_entry_id", CharField()))),
                    " ", F("state"), " past its deadline"),
        since=F("respond_by"),
    )  # fmt: skip


def recon_mismatches(now: datetime) -> QuerySet[Any]:
    working = [Mismatch.State.OPEN, Mismatch.State.INVESTIGATING]
    return _items(
        Mismatch.objects.filter(state__in=working),
        sid=_sid(),
        severity=Case(When(~Q(difference_minor=0), then=Value(SEV.HIGH)), default=SEV.MEDIUM),
        title=_text(F("check_name"), ": ", Left("detail", 200)),
        since=F("opened_at"),
        # Whoever took it in the workbench owns the item from the start.
        owner=Cast("owner_id", output_field=BigIntegerField()),
    )


def connections(now: datetime) -> QuerySet[Any]:
    return _items(
        Connection.objects.filter(status=Connection.Status.RECONNECT_REQUIRED),
        sid=Concat("kind", Value(":"), _sid(), output_field=CharField()),
        severity=SEV.HIGH,
        title=_text("Reconnect ", F("provider"), " ", F("name"), ": ", Left("status_reason", 150)),
        since=F("updated_at"),
    )


def dead_letters(now: datetime) -> QuerySet[Any]:
    return _items(
        DeadLetter.objects.filter(resolved_at__isnull=True),
        sid=_sid(),
        severity=SEV.MEDIUM,
        title=_text("Parked ", F("source"), " ", F("reference"), ": ", F("error_class")),
        since=F("created_at"),
    )


CONNECTION_ADMINS: dict[str, str] = {
    Connection.Kind.ACCOUNTING: "admin:integrations_accountingconnection_change",
    Connection.Kind.CRM: "admin:integrations_crmconnection_change",
}

SOURCES: dict[str, Source] = {
    s.key: s
    for s in [
        Source(S.SYNC_JOB, ("integrations.view_syncjob",), sync_jobs,
               "admin:integrations_syncjob_change", "Retry now, or skip with a note"),
        Source(S.SYNC_MISMATCH, ("integrations.view_syncmismatch",), sync_mismatches,
               "admin:integrations_syncmismatch_change", "Resolve with a note"),
        Source(S.WEBHOOK_DELIVERY, ("integrations.view_webhookdelivery",), webhook_deliveries,
               "admin:integrations_webhookdelivery_change", "Redeliver now"),
        Source(S.INBOUND_WEBHOOK, ("integrations.view_inboundwebhook",), inbound_webhooks,
               "admin:integrations_inboundwebhook_change", "Reprocess"),
        Source(S.TRANSFER_STUCK, ("transfers.view_transfer",), transfers_stuck,
               "admin:transfers_transfer_change", "Move it on (a transition with a reason)",
               url_args=lambda sid: [sid.partition(":")[0]]),
        Source(S.COMPLIANCE_REVIEW, ("compliance.view_compliancestatus",), compliance_reviews,
               "admin:compliance_compliancestatus_change", "Review, then clear or reject"),
        Source(S.PAYMENT_HELD, ("payments.view_paymentrequest",), payments_held,
               "admin:payments_paymentrequest_change", "Release or reject"),
        Source(S.RECON_MISMATCH, ("integrations.view_mismatch",), recon_mismatches,
               "admin:integrations_mismatch_change", "Match, resolve with a note or write off"),
        Source(S.CONNECTION,
               ("integrations.view_accountingconnection", "integrations.view_crmconnection"),
               connections, "", "Reconnect"),
        Source(S.DEAD_LETTER, ("core.view_deadletter",), dead_letters,
               "admin:core_deadletter_change", "Handle it, then mark resolved with a note"),
        Source(S.DISPUTE_DUE, ("disputes.view_dispute",), disputes_due,
               "admin:disputes_dispute_change", "Ask for evidence, review or decide",
               url_args=lambda sid: [sid.partition(":")[0]]),
        Source(S.COMPLIANCE_CASE, ("compliance.view_case",), compliance_cases,
               "admin:compliance_case_change",
               "Investigate, escalate or close (a second officer approves high-risk closes)"),
        Source(S.SCREENING_HIT, ("compliance.view_screeninghit",), screening_hits,
               "admin:compliance_screeninghit_change", "Clear or confirm with a note"),
    ]
}  # fmt: skip

# Every kind the model knows has a definition here (a new kind needs both).
assert set(SOURCES) == set(S.values), set(S.values) ^ set(SOURCES)


def sources_visible_to(user: Any) -> list[str]:
    """The sources whose items `user` may see: those of models they may view."""
    if not getattr(user, "is_active", False) or not getattr(user, "is_staff", False):
        return []
    return [s.key for s in SOURCES.values() if any(user.has_perm(p) for p in s.permissions)]
