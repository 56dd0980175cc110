"""Reading what the rules judge: a transfer and its history, set-based.

Each fact a rule looks back for (count, volume and in-band count over the rule's window and
scope; the latest earlier transfer; the distinct profiles paying the same bank account) is
one filter, `fact_q`, relative to the judged transfer's time, and one aggregate. The transfer
flow reads them for the transfer just created in one scan of the profile's recent transfers
(`transfer_history`: an aggregate with a FILTER per fact, and a scalar subquery for the
senders of the same account); the nightly run reads them for a night's worth of transfers in
one query (`transfers_with_history`: a correlated subquery per fact). Same filters, same
aggregates: both judge alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from django.db.models import (
    BigIntegerField,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from fintech.beneficiaries.models import Beneficiary
from fintech.core.sql import fetch_one, quoted_table
from fintech.monitoring.models import MonitoringRule
from fintech.monitoring.rules import HISTORY, History, TransferView, structuring_band
from fintech.transfers.models import Transfer


def scope_q(rule: MonitoringRule, prefix: str = "") -> Q:
    """The rule's corridor and currency scope as a filter on transfers."""
    q = Q()
    if rule.source_currency:
        q &= Q(**{f"{prefix}source_currency": rule.source_currency})
    if rule.target_currency:
        q &= Q(**{f"{prefix}target_currency": rule.target_currency})
    if rule.beneficiary_country:
        q &= Q(**{f"{prefix}beneficiary__country": rule.beneficiary_country})
    return q


Anchor = dt.datetime | Any  # the judged transfer's created_at: a value, or OuterRef


def _minus_hours(anchor: Anchor, hours: int) -> Anchor:
    if isinstance(anchor, dt.datetime):
        return anchor - dt.timedelta(hours=hours)
    return ExpressionWrapper(
        anchor - Value(dt.timedelta(hours=hours)), output_field=DateTimeField()
    )


def fact_q(rule: MonitoringRule, fact: str, anchor: Anchor) -> Q:
    """Which of the profile's transfers a fact reads, relative to the judged transfer's time:
    the window (anchor - window, anchor] in the rule's scope (rules.py); for "last_before",
    earlier transfers of any scope within the window (older ones do not make a profile
    active)."""
    assert rule.window_hours is not None
    since = _minus_hours(anchor, rule.window_hours)
    if fact == "last_before":
        return Q(created_at__gt=since, created_at__lt=anchor)
    window = Q(created_at__gt=since, created_at__lte=anchor) & scope_q(rule)
    if fact == "in_band":
        low, high = structuring_band(rule)
        window &= Q(source_amount_minor__gte=low, source_amount_minor__lt=high)
    return window


def _aggregate(fact: str, q: Q | None = None) -> Any:
    if fact == "last_before":
        return Max("created_at", filter=q)
    if fact == "volume":
        # SUM of bigint is numeric in PostgreSQL: back to an integer of minor units.
        return Cast(Coalesce(Sum("source_amount_minor", filter=q), 0), BigIntegerField())
    if fact == "senders":
        return Count("profile_id", distinct=True, filter=q)
    return Count("pk", filter=q)  # count, in_band


def _facts(rules: Sequence[MonitoringRule]) -> list[tuple[str, MonitoringRule, str]]:
    return [
        (f"h{rule.pk}_{fact}", rule, fact) for rule in rules for fact in HISTORY.get(rule.kind, ())
    ]


def history_annotations(rules: Sequence[MonitoringRule]) -> dict[str, Any]:
    """Per transfer of an outer queryset: one correlated subquery per fact (nightly)."""
    annotations: dict[str, Any] = {}
    for name, rule, fact in _facts(rules):
        if fact == "senders":
            rows = (
                Transfer.objects.filter(
                    fact_q(rule, fact, OuterRef("created_at")),
                    ~Q(beneficiary__details_fingerprint=""),  # blank: unknown, matches nothing
                    beneficiary__details_fingerprint=OuterRef("beneficiary__details_fingerprint"),
                )
                .order_by()
                # GROUP BY the one fingerprint: an aggregate as a subquery
                .values("beneficiary__details_fingerprint")
                .annotate(v=_aggregate(fact))
                .values("v")
            )
            annotations[name] = Coalesce(Subquery(rows), 0)
            continue
        rows = (
            Transfer.objects.filter(
                fact_q(rule, fact, OuterRef("created_at")), profile_id=OuterRef("profile_id")
            )
            .order_by()
            .values("profile_id")  # GROUP BY the one profile: an aggregate as a subquery
            .annotate(v=_aggregate(fact))
            .values("v")
        )
        annotations[name] = Subquery(rows) if fact == "last_before" else Coalesce(Subquery(rows), 0)
    return annotations


def _history(row: dict[str, Any], rules: Sequence[MonitoringRule]) -> dict[int, History]:
    history: dict[int, History] = {rule.pk: {} for rule in rules}
    for name, rule, fact in _facts(rules):
        history[rule.pk][fact] = row[name]
    return history


def _window_sql(
    rule: MonitoringRule, since: dt.datetime, anchor: dt.datetime, t: str = "t", b: str = "b"
) -> tuple[list[str], list[Any]]:
    """The window and the rule's scope as SQL conditions (t: transfers, b: beneficiaries)."""
    where = [f"{t}.created_at > %s", f"{t}.created_at <= %s"]
    params: list[Any] = [since, anchor]
    for column, value in (
        (f"{t}.source_currency", rule.source_currency),
        (f"{t}.target_currency", rule.target_currency),
        (f"{b}.country", rule.beneficiary_country),
    ):
        if value:
            where.append(f"{column} = %s")
            params.append(value)
    return where, params


def _senders_sql(
    rule: MonitoringRule, since: dt.datetime, anchor: dt.datetime, beneficiary_id: int
) -> tuple[str, list[Any]]:
    """ "senders" reads every profile's transfers, not the scanned profile's: a scalar subquery
    in the same SELECT (no extra round trip), through the beneficiaries' fingerprint index."""
    where, params = _window_sql(rule, since, anchor, t="s", b="sb")
    beneficiaries = quoted_table(Beneficiary)
    return (
        f"(SELECT COUNT(DISTINCT s.profile_id) FROM {quoted_table(Transfer)} s "  # noqa: S608 (names from _meta, values as parameters)
        f"JOIN {beneficiaries} sb ON sb.id = s.beneficiary_id "
        "WHERE sb.details_fingerprint <> '' AND sb.details_fingerprint = "
        f"(SELECT fb.details_fingerprint FROM {beneficiaries} fb WHERE fb.id = %s) "
        f"AND {' AND '.join(where)})",
        [beneficiary_id, *params],
    )


def _fact_sql(
    rule: MonitoringRule, fact: str, anchor: dt.datetime, beneficiary_id: int
) -> tuple[str, list[Any]]:
    """`fact_q` and `_aggregate` as one SQL aggregate with its FILTER (t: transfers, b: their
    beneficiaries); tests/monitoring hold the two to the same answers."""
    assert rule.window_hours is not None
    since = anchor - dt.timedelta(hours=rule.window_hours)
    if fact == "last_before":
        return "MAX(t.created_at) FILTER (WHERE t.created_at > %s AND t.created_at < %s)", [
            since,
            anchor,
        ]
    if fact == "senders":
        return _senders_sql(rule, since, anchor, beneficiary_id)
    where, params = _window_sql(rule, since, anchor)
    if fact == "in_band":
        where.append("t.source_amount_minor >= %s AND t.source_amount_minor < %s")
        params += list(structuring_band(rule))
    condition = " AND ".join(where)
    if fact == "volume":
        # SUM of bigint is numeric: back to an integer of minor units.
        return f"COALESCE(SUM(t.source_amount_minor) FILTER (WHERE {condition}), 0)::bigint", params
    return f"COUNT(*) FILTER (WHERE {condition})", params


def transfer_history(*, transfer: Transfer, rules: Sequence[MonitoringRule]) -> dict[int, History]:
    """The history facts of one transfer for `rules`: one scan of the profile's transfers in
    the widest window, each fact an aggregate with its own FILTER (no query if no rule looks
    back). The transfer itself is in it: it was inserted in this transaction.

    Hand-written SQL (fintech/core/sql.py's rule: measured first): the same aggregate through
    the ORM cost 3.2 ms a create, of which 0.5 ms in PostgreSQL, the rest compiling the query
    (bench/monitoring_latency.py, docs/monitoring.md)."""
    facts = _facts(rules)
    if not facts:
        return _history({}, rules)
    anchor = transfer.created_at
    columns: list[str] = []
    params: list[Any] = []
    for _name, rule, fact in facts:
        sql, fact_params = _fact_sql(rule, fact, anchor, transfer.beneficiary_id)
        columns.append(sql)
        params += fact_params
    # The scan is of this profile's transfers; "senders" is a scalar subquery of its own. With
    # only "senders" facts there is no scan (no aggregate would make it one row when empty).
    scanned = [rule for _, rule, fact in facts if fact != "senders"]
    sql = f"SELECT {', '.join(columns)}"
    if scanned:
        widest = max(rule.window_hours or 0 for rule in scanned)
        join = (
            f" JOIN {quoted_table(Beneficiary)} b ON b.id = t.beneficiary_id"
            if any(rule.beneficiary_country for rule in scanned)
            else ""
        )
        sql += (
            f" FROM {quoted_table(Transfer)} t{join} "
            "WHERE t.profile_id = %s AND t.created_at > %s AND t.created_at <= %s"
        )
        params += [transfer.profile_id, anchor - dt.timedelta(hours=widest), anchor]
    row = fetch_one(sql, params)
    assert row is not None  # an aggregate: always one row
    return _history(dict(zip([name for name, _, _ in facts], row, strict=True)), rules)


VIEW_FIELDS = {
    "transfer_pk": F("pk"),
    "profile_id_": F("profile_id"),
    "profile_kind": F("profile__kind"),
    "source_currency_": F("source_currency"),
    "target_currency_": F("target_currency"),
    "beneficiary_country": F("beneficiary__country"),
    "amount_minor": F("source_amount_minor"),
    "created_at_": F("created_at"),
    "beneficiary_created_at": F("beneficiary__created_at"),
    "profile_created_at": F("profile__created_at"),
}


def transfers_with_history(
    queryset: QuerySet[Transfer], rules: Sequence[MonitoringRule], *, chunk_size: int = 2000
) -> Iterator[tuple[TransferView, dict[int, History]]]:
    """Each transfer of `queryset` with its history facts for `rules`, streamed in chunks."""
    rows: Any = queryset.order_by("pk").values(**VIEW_FIELDS, **history_annotations(rules))
    for row in rows.iterator(chunk_size=chunk_size):
        view = TransferView(
            id=row["transfer_pk"],
            profile_id=row["profile_id_"],
            profile_kind=row["profile_kind"],
            source_currency=row["source_currency_"],
            target_currency=row["target_currency_"],
            beneficiary_country=row["beneficiary_country"],
            amount_minor=row["amount_minor"],
            created_at=row["created_at_"],
            beneficiary_created_at=row["beneficiary_created_at"],
            profile_created_at=row["profile_created_at"],
        )
        yield view, _history(row, rules)
