"""Reading what the rules judge: a transfer and its history, set-based.

`history_annotations(rules)` builds, per rule that looks back, correlated subqueries over the
profile's transfers (count, volume and in-band count over the rule's window and scope; the
latest earlier transfer). Annotated onto a queryset of transfers, they give every transfer's
facts in one query, whether the queryset is the one transfer being created or a night's
worth of them: the transfer flow and the nightly run read the same facts the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    Expression,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

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


def _window(rule: MonitoringRule) -> Q:
    """(outer.created_at - window, outer.created_at]: see rules.py."""
    assert rule.window_hours is not None
    since = ExpressionWrapper(
        OuterRef("created_at") - Value(dt.timedelta(hours=rule.window_hours)),
        output_field=DateTimeField(),
    )
    return Q(created_at__gt=since, created_at__lte=OuterRef("created_at"))


def _profile_transfers() -> QuerySet[Transfer]:
    return Transfer.objects.filter(profile_id=OuterRef("profile_id")).order_by()


def _aggregate(queryset: QuerySet[Transfer], aggregate: Any) -> Expression:
    # GROUP BY the (single) profile: the usual shape of an aggregate in a correlated subquery.
    rows = queryset.values("profile_id").annotate(v=aggregate).values("v")
    return Coalesce(Subquery(rows), 0)


def _fact(rule: MonitoringRule, fact: str) -> Any:
    if fact == "last_before":
        earlier = _profile_transfers().filter(created_at__lt=OuterRef("created_at"))
        return Subquery(earlier.order_by("-created_at").values("created_at")[:1])
    window = _profile_transfers().filter(_window(rule), scope_q(rule))
    if fact == "count":
        return _aggregate(window, Count("pk"))
    if fact == "volume":
        return _aggregate(window, Sum("source_amount_minor"))
    if fact == "in_band":
        low, high = structuring_band(rule)
        return _aggregate(
            window.filter(source_amount_minor__gte=low, source_amount_minor__lt=high),
            Count("pk"),
        )
    raise ValueError(fact)  # pragma: no cover


def history_annotations(rules: Sequence[MonitoringRule]) -> dict[str, Any]:
    return {
        f"h{rule.pk}_{fact}": _fact(rule, fact)
        for rule in rules
        for fact in HISTORY.get(rule.kind, ())
    }


def _history(row: dict[str, Any], rules: Sequence[MonitoringRule]) -> dict[int, History]:
    return {
        rule.pk: {fact: row[f"h{rule.pk}_{fact}"] for fact in HISTORY.get(rule.kind, ())}
        for rule in rules
    }


def transfer_history(*, transfer_id: int, rules: Sequence[MonitoringRule]) -> dict[int, History]:
    """The history facts of one transfer for `rules` (one query; none if no rule looks back)."""
    annotations = history_annotations(rules)
    if not annotations:
        return {rule.pk: {} for rule in rules}
    row = Transfer.objects.filter(pk=transfer_id).values(**annotations).get()
    return _history(row, rules)


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
