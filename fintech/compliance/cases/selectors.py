"""Case reads shared by the alert kinds' own screens."""

from __future__ import annotations

from fintech.compliance.models import CaseItem


def case_id_of(*, source: str, source_id: int) -> int | None:
    """The case the alert is in, if any: an alert in a case is decided by the case's
    decision (which releases or keeps every hold in it, with four eyes where the risk needs
    them), not on its own."""
    return (
        CaseItem.objects.filter(source=source, source_id=source_id)
        .values_list("case_id", flat=True)
        .first()
    )
