"""The operator dashboard (the admin's index page): how the business and its integrations are
doing, each figure a link to the admin list of the rows behind it.

Reads only, all aggregates: each panel is one or two GROUP BY queries whose result is bounded
by days x states x corridors (or by connections and partners), never by the number of
transfers or jobs, so the page costs a constant number of queries (tests/core/
test_dashboard.py counts them; bench/dashboard.py times them against a bare count(*)).

Each panel is computed only for staff who may view the model behind it (PANEL_PERMISSIONS): a
role that may not see a panel gets none of its numbers, not even in the page's source. Each
link is given only when the user may open the list it points at.

It lives in integrations (not fintech.core) because it reads the integrations' tables and
fintech never imports integrations; the admin's index template loads it through a template
tag (integrations/templatetags/operator_dashboard.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from fintech.core.money import format_minor
from fintech.transfers.models import Transfer
from integrations.inbox.selectors import open_exception_counts
from integrations.models import (
    InboundWebhook,
    KycCheck,
    PayoutInstruction,
    WebhookDelivery,
    WebhookEndpoint,
)
from integrations.observability.charts import Bar, Segment, bar_chart_svg
from integrations.reconciliation.models import Mismatch
from integrations.sync.models import Connection, SyncJob, SyncMismatch
from integrations.sync.selectors import BACKLOG_STATES, connection_token_status
from ledger.selectors import revenue_by_day

User = AbstractUser | AnonymousUser

# What a role must be allowed to view to see a panel at all.
PANEL_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "transfers": ("transfers.view_transfer",),
    # Revenue is the ledger's revenue accounts: finance and admin, not support.
    "revenue": ("ledger.view_posting",),
    # The same permission as the Integration health page (IntegrationHealth proxy).
    "health": ("integrations.view_integrationhealth",),
    "reconciliation": ("integrations.view_mismatch",),
    "sync_mismatches": ("integrations.view_syncmismatch",),
    "exceptions": ("integrations.view_exceptionitem",),
}

CHART_DAYS = (14, 30)
DEFAULT_CHART_DAYS = 30
ERROR_RATE_WINDOW = timedelta(days=7)

STATE_COLOURS: dict[str, str] = {
    Transfer.State.CREATED: "#90a4ae",
    Transfer.State.FUNDED: "#64b5f6",
    Transfer.State.PROCESSING: "#1565c0",
    Transfer.State.COMPLETED: "#2e7d32",
    Transfer.State.FAILED: "#c62828",
    Transfer.State.CANCELLED: "#ef6c00",
    Transfer.State.REFUNDED: "#6a1b9a",
}
FEES_COLOUR = "#00796b"
MARGIN_COLOUR = "#8bc34a"


def may_see(user: User, panel: str) -> bool:
    return bool(user.is_active and user.is_staff) and user.has_perms(PANEL_PERMISSIONS[panel])


def _changelist_url(user: User, app_model: str, params: dict[str, Any] | None = None) -> str:
    """The admin list of `app_model` filtered by `params`, or "" if the user may not open it.
    Every parameter is a list_filter, search or local-field lookup the ModelAdmin accepts
    (the tests open each link: an unknown lookup would be a redirect to ?e=1)."""
    app, model = app_model.split(".")
    if not user.has_perm(f"{app}.view_{model}"):
        return ""
    url = reverse(f"admin:{app}_{model}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


@dataclass(frozen=True)
class Link:
    """One figure on the dashboard and the list behind it ("" when the user may not open it)."""

    text: str
    url: str = ""


def _percent(part: int, whole: int) -> str:
    # Integer percent (rounded down): an operator's signal, not an amount of money.
    return f"{part * 100 // whole} %" if whole else "—"


def _money(amount_minor: int, currency: str) -> str:
    return f"{format_minor(amount_minor, currency)} {currency}"


def _iso(at: datetime) -> str:
    return at.isoformat()


# --------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class Windows:
    now: datetime
    today: datetime  # 00:00 UTC today
    tomorrow: datetime
    week: datetime  # 00:00 UTC on Monday of this ISO week
    chart_start: datetime
    days: int

    @property
    def since(self) -> datetime:
        return min(self.week, self.chart_start)

    def chart_days(self) -> list[date]:
        first = self.chart_start.date()
        return [first + timedelta(days=i) for i in range(self.days)]


def windows_at(now: datetime, *, days: int = DEFAULT_CHART_DAYS) -> Windows:
    today = datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)
    return Windows(
        now=now,
        today=today,
        tomorrow=today + timedelta(days=1),
        week=today - timedelta(days=today.weekday()),
        chart_start=today - timedelta(days=days - 1),
        days=days,
    )


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


# --------------------------------------------------------------------------- transfers


@dataclass(frozen=True)
class TransferFigures:
    """Count and volume (in the source currency) of one corridor's transfers in one state
    ("" = every state), today and this week."""

    state: str
    state_label: str
    today_count: Link
    today_volume: str
    week_count: Link
    week_volume: str


@dataclass(frozen=True)
class Corridor:
    source_currency: str
    target_currency: str
    total: TransferFigures
    states: list[TransferFigures]

    @property
    def name(self) -> str:
        return f"{self.source_currency}→{self.target_currency}"


@dataclass(frozen=True)
class TransfersPanel:
    today: Link
    week: Link
    corridors: list[Corridor]
    chart: SafeString
    legend: list[tuple[str, str]]


def _transfers_url(
    user: User,
    *,
    since: datetime,
    until: datetime,
    state: str = "",
    source: str = "",
    target: str = "",
) -> str:
    # created_at__gte/__lt are the TransferAdmin's date filter; the others its list filters.
    params: dict[str, str] = {"created_at__gte": _iso(since), "created_at__lt": _iso(until)}
    if state:
        params["state__exact"] = state
    if source:
        params["source_currency__exact"] = source
    if target:
        params["target_currency__exact"] = target
    return _changelist_url(user, "transfers.transfer", params)


def transfers_panel(*, user: User, windows: Windows) -> TransfersPanel:
    """One query: transfers created since the earlier of Monday and the chart's first day,
    counted and summed per (day, state, corridor) by PostgreSQL, reading the window through
    the created_at index (a covering index was tried: the planner preferred this one, the
    heap being in time order, so it was not worth its cost on every insert)."""
    rows = (
        Transfer.objects.filter(created_at__gte=windows.since, created_at__lt=windows.tomorrow)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day", "state", "source_currency", "target_currency")
        .annotate(n=Count("pk"), volume=Sum("source_amount_minor"))
        .order_by()
    )
    today, week = windows.today.date(), windows.week.date()
    # Sums of the grouped rows (at most days x states x corridors of them), not of transfers.
    per_state: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    per_day: dict[tuple[date, str], int] = defaultdict(int)
    for row in rows:
        key = (row["source_currency"], row["target_currency"], row["state"])
        sums = per_state[key]
        if row["day"] >= today:
            sums[0] += row["n"]
            sums[1] += row["volume"]
        if row["day"] >= week:
            sums[2] += row["n"]
            sums[3] += row["volume"]
        per_day[(row["day"], row["state"])] += row["n"]

    def figures(state: str, source: str, target: str, f: list[int]) -> TransferFigures:
        def count(n: int, since: datetime) -> Link:
            url = _transfers_url(
                user, since=since, until=windows.tomorrow, state=state, source=source, target=target
            )
            return Link(str(n), url)

        return TransferFigures(
            state=state,
            state_label=Transfer.State(state).label if state else "all states",
            today_count=count(f[0], windows.today),
            today_volume=_money(f[1], source),
            week_count=count(f[2], windows.week),
            week_volume=_money(f[3], source),
        )

    by_corridor: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(dict)
    for (source, target, state), f in per_state.items():
        if f[2] or f[0]:
            by_corridor[(source, target)][state] = f
    corridors = []
    for (source, target), states in by_corridor.items():
        total = [sum(f[i] for f in states.values()) for i in range(4)]
        corridors.append(
            Corridor(
                source_currency=source,
                target_currency=target,
                total=figures("", source, target, total),
                states=[
                    figures(state, source, target, states[state])
                    for state in Transfer.State.values
                    if state in states
                ],
            )
        )
    corridors.sort(key=lambda c: (-int(c.total.week_count.text), c.name))
    today_total = sum(f[0] for f in per_state.values())
    week_total = sum(f[2] for f in per_state.values())

    bars = []
    for day in windows.chart_days():
        start, end = _day_bounds(day)
        bars.append(
            Bar(
                label=day.isoformat(),
                # A segment with nothing in it is not drawn: no link to build.
                segments=tuple(
                    Segment(
                        value=per_day[(day, state)],
                        label=f"{per_day[(day, state)]} {label.lower()}",
                        url=_transfers_url(user, since=start, until=end, state=state),
                        colour=STATE_COLOURS[state],
                    )
                    for state, label in Transfer.State.choices
                    if per_day[(day, state)] > 0
                ),
            )
        )
    return TransfersPanel(
        today=Link(
            str(today_total), _transfers_url(user, since=windows.today, until=windows.tomorrow)
        ),
        week=Link(
            str(week_total), _transfers_url(user, since=windows.week, until=windows.tomorrow)
        ),
        corridors=corridors,
        chart=bar_chart_svg(bars, title=f"Transfers created per day, last {windows.days} days"),
        legend=[(label, STATE_COLOURS[state]) for state, label in Transfer.State.choices],
    )


# --------------------------------------------------------------------------- revenue


@dataclass(frozen=True)
class RevenueLine:
    """Net revenue booked in one currency: fees and FX margin, today and this week."""

    currency: str
    fees_today: Link
    fees_week: Link
    margin_today: Link
    margin_week: Link
    chart: SafeString


FEES_PREFIX = "revenue:fees:"
MARGIN_PREFIX = "revenue:fx-margin:"


def _postings_url(user: User, *, account_id: int | None, since: datetime, until: datetime) -> str:
    if account_id is None:
        return ""
    # account__id__exact is a local foreign key lookup; entry__effective_at the PostingAdmin's
    # date filter.
    return _changelist_url(
        user,
        "ledger.posting",
        {
            "account__id__exact": account_id,
            "entry__effective_at__gte": _iso(since),
            "entry__effective_at__lt": _iso(until),
        },
    )


def revenue_panel(*, user: User, windows: Windows) -> list[RevenueLine]:
    """Two queries (ledger.selectors.revenue_by_day): the revenue accounts' postings per day.
    The ledger is the source of truth for revenue: fees and FX margin are booked when a
    transfer is submitted and reversed if it fails, is cancelled or refunded."""
    days = revenue_by_day(since=windows.since, until=windows.tomorrow)
    # (currency, kind) -> account id; (currency, kind, day) -> net minor units
    accounts: dict[tuple[str, str], int] = {}
    net: dict[tuple[str, str, date], int] = defaultdict(int)
    for row in days:
        kind = "fees" if row.code.startswith(FEES_PREFIX) else "margin"
        accounts[(row.currency, kind)] = row.account_id
        net[(row.currency, kind, row.day)] += row.net_minor

    def total(currency: str, kind: str, since: date) -> int:
        return sum(v for (c, k, d), v in net.items() if c == currency and k == kind and d >= since)

    lines = []
    for currency in sorted({c for c, _ in accounts}):

        def link(kind: str, since: datetime, currency: str = currency) -> Link:
            return Link(
                _money(total(currency, kind, since.date()), currency),
                _postings_url(
                    user,
                    account_id=accounts.get((currency, kind)),
                    since=since,
                    until=windows.tomorrow,
                ),
            )

        bars = []
        for day in windows.chart_days():
            start, end = _day_bounds(day)
            segments = []
            for kind, label, colour in (
                ("fees", "fees", FEES_COLOUR),
                ("margin", "FX margin", MARGIN_COLOUR),
            ):
                value = net[(currency, kind, day)]
                if value <= 0:
                    continue  # not drawn (a net loss shows in the table, not as a bar)
                segments.append(
                    Segment(
                        value=value,
                        label=f"{_money(value, currency)} {label}",
                        url=_postings_url(
                            user,
                            account_id=accounts.get((currency, kind)),
                            since=start,
                            until=end,
                        ),
                        colour=colour,
                    )
                )
            bars.append(Bar(label=day.isoformat(), segments=tuple(segments)))
        lines.append(
            RevenueLine(
                currency=currency,
                fees_today=link("fees", windows.today),
                fees_week=link("fees", windows.week),
                margin_today=link("margin", windows.today),
                margin_week=link("margin", windows.week),
                chart=bar_chart_svg(
                    bars, title=f"Revenue in {currency} per day, last {windows.days} days"
                ),
            )
        )
    return lines


# --------------------------------------------------------------------------- integrations


@dataclass(frozen=True)
class HealthRow:
    """One connection, partner or webhook flow as an operator checks it."""

    kind: str
    name: str
    status: str
    last_success: datetime | None
    error_rate: str  # of the work created in the last ERROR_RATE_WINDOW
    errors: Link  # needs a human now (failed, dead, refused, exhausted)
    backlog: Link  # waiting to be done
    oldest_pending: datetime | None
    token_status: str = ""
    page: str = ""  # the connection's own page, when there is one the user may open


CONNECTION_PAGES: dict[str, str] = {
    Connection.Kind.ACCOUNTING: "accountingconnection",
    Connection.Kind.CRM: "crmconnection",
}


def _connection_rows(user: User, since: datetime) -> list[HealthRow]:
    """One query: every connection not disconnected with its jobs counted by state (the
    sync_job_queue index on (connection, state)) and the jobs of the window."""
    connections = (
        Connection.objects.exclude(status=Connection.Status.DISCONNECTED)
        .annotate(
            backlog=Count("jobs", filter=Q(jobs__state__in=BACKLOG_STATES)),
            oldest_waiting_at=Min("jobs__created_at", filter=Q(jobs__state__in=BACKLOG_STATES)),
            needs_human=Count(
                "jobs", filter=Q(jobs__state__in=[SyncJob.State.FAILED, SyncJob.State.DEAD])
            ),
            recent=Count("jobs", filter=Q(jobs__created_at__gte=since)),
            recent_bad=Count(
                "jobs",
                filter=Q(
                    jobs__created_at__gte=since,
                    jobs__state__in=[
                        SyncJob.State.FAILED,
                        SyncJob.State.DEAD,
                        SyncJob.State.RETRY_SCHEDULED,
                    ],
                ),
            ),
        )
        .order_by("kind", "provider", "pk")
    )
    rows = []
    for c in connections:
        page_model = CONNECTION_PAGES.get(c.kind)
        page = ""
        if page_model and user.has_perm(f"integrations.view_{page_model}"):
            page = reverse(f"admin:integrations_{page_model}_change", args=[c.pk])
        owner = "platform" if c.owner == Connection.Owner.PLATFORM else f"profile {c.profile_id}"
        rows.append(
            HealthRow(
                kind=c.get_kind_display(),
                name=f"{c.provider} ({owner})",
                status=c.get_status_display(),
                last_success=c.last_success_at,
                error_rate=_percent(c.recent_bad, c.recent),
                errors=Link(
                    str(c.needs_human),
                    _changelist_url(
                        user,
                        "integrations.syncjob",
                        {"connection__id__exact": c.pk, "queue": "failed"},
                    ),
                ),
                backlog=Link(
                    str(c.backlog),
                    _changelist_url(
                        user,
                        "integrations.syncjob",
                        {"connection__id__exact": c.pk, "queue": "waiting"},
                    ),
                ),
                oldest_pending=c.oldest_waiting_at,
                token_status=connection_token_status(c),
                page=page,
            )
        )
    return rows


def _partner_rows(
    user: User,
    since: datetime,
    *,
    model: type[PayoutInstruction] | type[KycCheck],
    name_field: str,
    kind: str,
    succeeded: Iterable[str],
    failed: Iterable[str] = (),
) -> list[HealthRow]:
    """One query per partner table: the waiting and refused rows (whatever their age: few,
    an operator retries or closes them) and the window's rows, grouped by partner (indexes
    on (status, created_at) and created_at). Refused (`error`: the partner rejected our
    request for good) needs a human; a payout that failed or came back at the partner
    counts in the error rate only (the transfer fails and is refunded by its own flow)."""
    pending, error = model.Status.PENDING, model.Status.ERROR
    bad = [error, *failed]
    rows = (
        model.objects.filter(Q(status__in=[pending, error]) | Q(created_at__gte=since))
        .values(name_field)
        .annotate(
            backlog=Count("pk", filter=Q(status=pending)),
            oldest=Min("created_at", filter=Q(status=pending)),
            needs_human=Count("pk", filter=Q(status=error)),
            recent=Count("pk", filter=Q(created_at__gte=since)),
            recent_bad=Count("pk", filter=Q(created_at__gte=since, status__in=bad)),
            last_success=Max("last_status_at", filter=Q(status__in=list(succeeded))),
        )
        .order_by(name_field)
    )
    label = model._meta.label_lower
    result = []
    for row in rows:
        name = row[name_field]
        result.append(
            HealthRow(
                kind=kind,
                name=name,
                status="",
                last_success=row["last_success"],
                error_rate=_percent(row["recent_bad"], row["recent"]),
                errors=Link(
                    str(row["needs_human"]),
                    _changelist_url(
                        user, label, {f"{name_field}__exact": name, "status__exact": error}
                    ),
                ),
                backlog=Link(
                    str(row["backlog"]),
                    _changelist_url(
                        user, label, {f"{name_field}__exact": name, "status__exact": pending}
                    ),
                ),
                oldest_pending=row["oldest"],
            )
        )
    return result


def _outbound_webhook_row(user: User, since: datetime) -> HealthRow:
    """Two queries: deliveries waiting or given up (webhook_delivery_open_idx) and the
    window's; the endpoints' own health counters."""
    s = WebhookDelivery.Status
    deliveries = WebhookDelivery.objects.filter(
        Q(status__in=[s.PENDING, s.FAILED, s.EXHAUSTED]) | Q(created_at__gte=since)
    ).aggregate(
        backlog=Count("pk", filter=Q(status=s.PENDING)),
        oldest=Min("created_at", filter=Q(status=s.PENDING)),
        needs_human=Count("pk", filter=Q(status=s.EXHAUSTED)),
        recent=Count("pk", filter=Q(created_at__gte=since)),
        recent_bad=Count("pk", filter=Q(created_at__gte=since, status__in=[s.FAILED, s.EXHAUSTED])),
    )
    endpoints = WebhookEndpoint.objects.filter(deleted_at__isnull=True).aggregate(
        total=Count("pk"),
        failing=Count("pk", filter=Q(is_enabled=True, failure_streak__gt=0)),
        disabled=Count("pk", filter=Q(is_enabled=False)),
        last_success=Max("last_success_at"),
    )
    status = (
        f"{endpoints['total']} endpoints, {endpoints['failing']} failing, "
        f"{endpoints['disabled']} disabled"
    )
    return HealthRow(
        kind="Webhook endpoints",
        name="outbound deliveries",
        status=status,
        last_success=endpoints["last_success"],
        error_rate=_percent(deliveries["recent_bad"], deliveries["recent"]),
        errors=Link(
            str(deliveries["needs_human"]),
            _changelist_url(user, "integrations.webhookdelivery", {"status__exact": s.EXHAUSTED}),
        ),
        backlog=Link(
            str(deliveries["backlog"]),
            _changelist_url(user, "integrations.webhookdelivery", {"status__exact": s.PENDING}),
        ),
        oldest_pending=deliveries["oldest"],
        page=_changelist_url(user, "integrations.webhookendpoint", {"health": "failing"}),
    )


def _inbound_webhook_rows(user: User, since: datetime) -> list[HealthRow]:
    s = InboundWebhook.Status
    waiting = [s.RECEIVED, s.PROCESSING]
    rows = (
        InboundWebhook.objects.filter(
            Q(status__in=[*waiting, s.FAILED]) | Q(received_at__gte=since)
        )
        .values("provider")
        .annotate(
            backlog=Count("pk", filter=Q(status__in=waiting)),
            oldest=Min("received_at", filter=Q(status__in=waiting)),
            needs_human=Count("pk", filter=Q(status=s.FAILED)),
            recent=Count("pk", filter=Q(received_at__gte=since)),
            recent_bad=Count(
                "pk", filter=Q(received_at__gte=since, status__in=[s.FAILED, s.REJECTED])
            ),
            last_success=Max("processed_at", filter=Q(status=s.PROCESSED)),
        )
        .order_by("provider")
    )
    return [
        HealthRow(
            kind="Inbound webhooks",
            name=row["provider"],
            status="",
            last_success=row["last_success"],
            error_rate=_percent(row["recent_bad"], row["recent"]),
            errors=Link(
                str(row["needs_human"]),
                _changelist_url(
                    user,
                    "integrations.inboundwebhook",
                    {"provider__exact": row["provider"], "status__exact": s.FAILED},
                ),
            ),
            backlog=Link(
                str(row["backlog"]),
                _changelist_url(
                    user,
                    "integrations.inboundwebhook",
                    {"provider__exact": row["provider"], "status__exact": s.RECEIVED},
                ),
            ),
            oldest_pending=row["oldest"],
        )
        for row in rows
    ]


def health_panel(*, user: User, windows: Windows) -> list[HealthRow]:
    """Six queries: connections, payout partners, KYC providers, deliveries, endpoints,
    inbound providers."""
    since = windows.now - ERROR_RATE_WINDOW
    p, k = PayoutInstruction.Status, KycCheck.Status
    return [
        *_partner_rows(
            user,
            since,
            model=PayoutInstruction,
            name_field="partner",
            kind="Payout rail",
            succeeded=[p.SENT],
            failed=[p.FAILED, p.RETURNED],
        ),
        *_partner_rows(
            user,
            since,
            model=KycCheck,
            name_field="provider",
            kind="KYC partner",
            succeeded=[k.CLEAR, k.CONSIDER],
        ),
        *_connection_rows(user, since),
        _outbound_webhook_row(user, since),
        *_inbound_webhook_rows(user, since),
    ]


# --------------------------------------------------------------------------- reconciliation


@dataclass(frozen=True)
class MismatchFigures:
    label: str
    open: Link
    in_progress: Link | None
    oldest: datetime | None
    oldest_link: str


def reconciliation_mismatches(*, user: User) -> MismatchFigures:
    """One query on the state index: the open and investigating mismatches and the oldest."""
    s = Mismatch.State
    row = Mismatch.objects.filter(state__in=[s.OPEN, s.INVESTIGATING]).aggregate(
        open=Count("pk", filter=Q(state=s.OPEN)),
        investigating=Count("pk", filter=Q(state=s.INVESTIGATING)),
        oldest=Min("opened_at"),
    )
    label = "integrations.mismatch"
    return MismatchFigures(
        label="Reconciliation mismatches",
        open=Link(str(row["open"]), _changelist_url(user, label, {"state__exact": s.OPEN})),
        in_progress=Link(
            str(row["investigating"]),
            _changelist_url(user, label, {"state__exact": s.INVESTIGATING}),
        ),
        oldest=row["oldest"],
        # o=3: MismatchAdmin's "age" column (ordered by opened_at), oldest first.
        oldest_link=_changelist_url(user, label, {"state__exact": s.OPEN, "o": "3"}),
    )


def sync_mismatches(*, user: User) -> MismatchFigures:
    """One query: sync mismatches (accounting, CRM) not yet resolved."""
    row = SyncMismatch.objects.filter(status=SyncMismatch.Status.OPEN).aggregate(
        open=Count("pk"), oldest=Min("created_at")
    )
    url = _changelist_url(
        user, "integrations.syncmismatch", {"status__exact": SyncMismatch.Status.OPEN}
    )
    return MismatchFigures(
        label="Sync mismatches (accounting, CRM)",
        open=Link(str(row["open"]), url),
        in_progress=None,
        oldest=row["oldest"],
        oldest_link=url,
    )


# --------------------------------------------------------------------------- exceptions hook


@dataclass(frozen=True)
class ExceptionFigures:
    """Open exception-inbox items of one source and severity (integrations/inbox)."""

    source_label: str
    severity: str
    count: int
    oldest: datetime | None
    link: str


def exceptions_panel(*, user: User) -> list[ExceptionFigures]:
    """The inbox's open items by source and severity, only the sources `user` may see (one
    aggregate query), each linking to the inbox filtered to them."""
    base = reverse("admin:integrations_exceptionitem_changelist")
    return [
        ExceptionFigures(
            source_label=row["source_label"],
            severity=row["severity"],
            count=row["count"],
            oldest=row["oldest"],
            link=f"{base}?{urlencode({'source': row['source'], 'severity': row['severity']})}",
        )
        for row in open_exception_counts(user=user)
    ]


# --------------------------------------------------------------------------- the page


@dataclass
class Dashboard:
    windows: Windows
    transfers: TransfersPanel | None = None
    revenue: list[RevenueLine] | None = None
    health: list[HealthRow] | None = None
    mismatches: list[MismatchFigures] = field(default_factory=list)
    exceptions: list[ExceptionFigures] | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.transfers
            or self.revenue is not None
            or self.health is not None
            or self.exceptions is not None
        ) and (not self.mismatches)


def operator_dashboard(
    *, user: User, now: datetime | None = None, days: int = DEFAULT_CHART_DAYS
) -> Dashboard:
    """The panels `user` may see, each computed only then (a panel the user may not see runs
    no query and leaves no number in the page)."""
    if days not in CHART_DAYS:
        days = DEFAULT_CHART_DAYS
    windows = windows_at(now or timezone.now(), days=days)
    board = Dashboard(windows=windows)
    if may_see(user, "transfers"):
        board.transfers = transfers_panel(user=user, windows=windows)
    if may_see(user, "revenue"):
        board.revenue = revenue_panel(user=user, windows=windows)
    if may_see(user, "health"):
        board.health = health_panel(user=user, windows=windows)
    if may_see(user, "reconciliation"):
        board.mismatches.append(reconciliation_mismatches(user=user))
    if may_see(user, "sync_mismatches"):
        board.mismatches.append(sync_mismatches(user=user))
    if may_see(user, "exceptions"):
        board.exceptions = exceptions_panel(user=user)
    return board
