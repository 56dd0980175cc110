"""The suspicious-activity report of a case: its facts in one document, as JSON or CSV.

Built for a case that is escalated or closed as reported. The subject profile, each item's
facts (from its kind's `describe`), the held transfers, the notes, the attachments (names,
types and SHA-256; the files themselves are downloaded separately), the case's timeline from
the audit trail, the decision and who took and approved it. Each export is audited
(`case.sar_exported`); the report never leaves through events or webhooks."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.utils import timezone

from fintech.compliance.cases.registry import case_source
from fintech.compliance.models import Case
from fintech.core.errors import NotFound, TransitionNotAllowed
from fintech.core.models import AuditEvent
from fintech.core.services import Actor, audit_record
from fintech.core.transactions import service_transaction
from fintech.customers.models import Membership

SAR_STATES = (Case.State.ESCALATED, Case.State.CLOSED_REPORTED)
FORMATS = ("json", "csv")


def _iso(value: Any) -> str:
    return value.isoformat() if value else ""


def case_sar(case: Case, *, generated_by: str) -> dict[str, Any]:
    """The report as a dict (JSON-ready)."""
    profile = case.profile
    members = [
        {"user": m.user.get_username(), "name": m.user.get_full_name(), "role": m.role}
        for m in Membership.objects.filter(profile=profile).select_related("user").order_by("pk")
    ]
    items = []
    for item in case.items.order_by("pk"):
        try:
            facts = case_source(item.source).describe(item.source_id)
        except (LookupError, NotFound) as exc:
            facts = {"error": str(exc)}
        items.append(
            {
                "source": item.source,
                "source_id": item.source_id,
                "summary": item.summary,
                "score": item.score,
                "added_at": _iso(item.added_at),
                "outcome": item.outcome,
                "facts": facts,
            }
        )
    timeline = [
        {"at": _iso(e.occurred_at), "action": e.action, "actor": e.actor_label, "note": e.reason}
        for e in AuditEvent.objects.filter(
            target_type=case._meta.label_lower, target_id=str(case.pk)
        ).order_by("occurred_at", "id")
    ]
    return {
        "report": {
            "type": "suspicious_activity_report",
            "case_id": case.pk,
            "generated_at": _iso(timezone.now()),
            "generated_by": generated_by,
        },
        "subject": {
            "profile_id": profile.pk,
            "kind": profile.kind,
            "legal_name": profile.legal_name,
            "registration_number": profile.registration_number,
            "country": profile.country,
            "address": ", ".join(
                p
                for p in (
                    profile.address_line1,
                    profile.address_line2,
                    profile.city,
                    profile.postal_code,
                )
                if p
            ),
            "email": profile.email,
            "customer_since": _iso(profile.created_at),
            "members": members,
        },
        "case": {
            "state": case.state,
            "risk_score": case.risk_score,
            "risk_level": case.risk_level,
            "opened_at": _iso(case.opened_at),
            "due_at": _iso(case.due_at),
            "closed_at": _iso(case.closed_at),
            "assignee": case.assignee.get_username() if case.assignee else "",
            "decision": case.decision,
            "decision_note": case.decision_note,
            "decided_by": case.decided_by,
            "approved_by": case.approved_by,
            "transfers_cancelled": case.transfers_cancelled,
        },
        "items": items,
        "notes": [
            {"at": _iso(n.created_at), "author": n.author_label, "text": n.text}
            for n in case.notes.order_by("pk")
        ],
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "uploaded_by": a.uploaded_by_label,
                "uploaded_at": _iso(a.uploaded_at),
            }
            for a in case.attachments.defer("content").order_by("pk")
        ],
        "timeline": timeline,
    }


def _flatten(prefix: str, value: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, rows)
    elif isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            rows.append((prefix, "; ".join(str(v) for v in value)))
        else:
            for index, inner in enumerate(value):
                _flatten(f"{prefix}[{index}]", inner, rows)
    else:
        rows.append((prefix, "" if value is None else str(value)))


def sar_render(report: dict[str, Any], fmt: str) -> tuple[bytes, str]:
    """(body, content type). CSV: one `field,value` row per fact, dotted paths as fields."""
    if fmt == "json":
        return json.dumps(report, indent=2, ensure_ascii=False).encode(), "application/json"
    rows: list[tuple[str, str]] = []
    _flatten("", report, rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["field", "value"])
    for field, value in rows:
        # A cell starting with = + - @ is a formula to a spreadsheet: quote it as text.
        writer.writerow([field, "'" + value if value[:1] in ("=", "+", "-", "@") else value])
    return out.getvalue().encode(), "text/csv"


@service_transaction
def case_sar_export(*, actor: Actor, case_id: int, fmt: str = "json") -> tuple[bytes, str, str]:
    """The report of case `case_id` as (body, content type, file name), audited. Refused
    (409) unless the case is escalated or closed as reported."""
    if fmt not in FORMATS:
        fmt = "json"
    case = Case.objects.select_related("profile", "assignee").filter(pk=case_id).first()
    if case is None:
        raise NotFound(f"case {case_id} not found")
    if case.state not in SAR_STATES:
        raise TransitionNotAllowed(
            f"A SAR is exported for an escalated or reported case; {case} is {case.state}"
        )
    body, content_type = sar_render(case_sar(case, generated_by=actor.label), fmt)
    audit_record(
        actor=actor,
        action="case.sar_exported",
        target=case,
        data={"format": fmt, "size": len(body)},
    )
    return body, content_type, f"sar-case-{case.pk}.{fmt}"
