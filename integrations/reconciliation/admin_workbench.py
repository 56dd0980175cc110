"""The reconciliation workbench (role finance): unmatched lines beside the candidate ledger
records with a one-click match (and split: several lines at once), the mismatch queue by
check, age and owner with bulk actions, suggested fundings to confirm, the runs, the matches
and the closed periods with their frozen reports. Every action calls a service; nothing is
deleted here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from fintech.core.errors import DomainError
from fintech.core.money import format_minor
from fintech.customers.admin_helpers import action_with_reason, actor_for_request
from integrations.reconciliation import fundings, mismatches
from integrations.reconciliation.models import (
    Mismatch,
    PeriodClose,
    ReconMatch,
    ReconMatchItem,
    ReconRun,
    StatementLine,
    SuggestedFunding,
)
from integrations.reconciliation.selectors import ledger_records_unmatched


class _NoDelete(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # evidence: never deleted


class MatchedFilter(admin.SimpleListFilter):
    title = "matched"
    parameter_name = "matched"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Unmatched"), ("yes", "Matched")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        live = ReconMatchItem.objects.filter(statement_line=OuterRef("pk"), active=True)
        if self.value() == "no":
            return queryset.filter(~Exists(live))
        if self.value() == "yes":
            return queryset.filter(Exists(live))
        return queryset


def line_match_view(model_admin: admin.ModelAdmin, request: HttpRequest, line_id: int) -> Any:
    """The line, the unmatched ledger records of its account (same amount first), a match."""
    if not request.user.has_perm("integrations.work_mismatch"):
        return HttpResponse("finance only", status=403)
    line = get_object_or_404(StatementLine.objects.select_related("statement__bank_account"),
                             pk=line_id)  # fmt: skip
    account = line.statement.bank_account
    if request.method == "POST":
        more = [int(x) for x in request.POST.get("more_line_ids", "").replace(",", " ").split()
                if x.isdigit()]  # fmt: skip
        try:
            match = mismatches.match_manual(
                actor=actor_for_request(request), bank_account_id=account.pk,
                line_ids=[line.pk, *more],
                posting_ids=[int(x) for x in request.POST.getlist("posting_ids")],
                note=request.POST.get("note", ""),
            )  # fmt: skip
        except DomainError as exc:
            model_admin.message_user(request, f"Not matched: {exc.message}", messages.ERROR)
        else:
            model_admin.message_user(request, f"Matched (match {match.pk}).", messages.SUCCESS)
            changelist = reverse("admin:integrations_statementline_changelist")
            return HttpResponseRedirect(f"{changelist}?matched=no")
    live = ReconMatchItem.objects.filter(statement_line=line, active=True).first()
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": StatementLine._meta,
        "title": f"Match line {line.pk}",
        "line": line,
        "account": account,
        "amount": f"{format_minor(line.amount_minor, line.currency)} {line.currency}",
        # a one-to-one match is its item row (no ReconMatch)
        "matched": (live.match_id or f"{live.pk}, one-to-one") if live else None,
        "candidates": ledger_records_unmatched(
            bank_account=account, amount_minor=line.amount_minor
        ),
    }
    return TemplateResponse(request, "admin/integrations/reconciliation/line_match.html", context)


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1", "over a day"), ("7", "over a week"), ("30", "over a month")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(
                opened_at__lt=timezone.now() - timedelta(days=int(self.value() or 0))
            )
        return queryset


@admin.register(Mismatch)
class MismatchAdmin(_NoDelete):
    list_display = ("id", "check_name", "state", "age", "owner", "bank_account", "difference",
                    "short_detail", "times_reopened", "resolution")  # fmt: skip
    list_filter = ("state", "check_name", AgeFilter, "owner", "bank_account", "resolution")
    search_fields = ("key", "detail")
    list_select_related = ("owner", "bank_account")
    readonly_fields = [f.name for f in Mismatch._meta.fields]
    actions = ["take", "resolve_note", "write_off", "approve_write_off"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and request.user.has_perm("integrations.change_mismatch")

    @admin.display(description="age", ordering="opened_at")
    def age(self, m: Mismatch) -> str:
        days = (timezone.now() - m.opened_at).days
        return f"{days} d" if days else "today"

    @admin.display(description="difference")
    def difference(self, m: Mismatch) -> str:
        if not m.currency:
            return str(m.difference_minor or "")
        return f"{format_minor(m.difference_minor, m.currency)} {m.currency}"

    @admin.display(description="detail")
    def short_detail(self, m: Mismatch) -> str:
        return m.detail if len(m.detail) <= 120 else m.detail[:120] + "…"

    @admin.action(description="Take (investigating, owned by me)", permissions=["change"])
    def take(self, request: HttpRequest, queryset: QuerySet[Mismatch]) -> None:
        actor = actor_for_request(request)
        for m in queryset:
            try:
                mismatches.mismatch_investigate(actor=actor, mismatch_id=m.pk)
            except DomainError as exc:
                self.message_user(request, f"{m.pk}: {exc.message}", messages.ERROR)
        self.message_user(request, "Taken.", messages.SUCCESS)

    @admin.action(description="Resolve with a note…", permissions=["change"])
    def resolve_note(self, request: HttpRequest, queryset: QuerySet[Mismatch]) -> Any:
        return action_with_reason(
            self, request, queryset, action="resolve_note", title="Resolve mismatches",
            reason_required=True, done="resolved",
            apply=lambda actor, m, note: mismatches.mismatch_resolve_note(
                actor=actor, mismatch_id=m.pk, note=note),
        )  # fmt: skip

    @admin.action(description="Write off… (a second operator approves large ones)",
                  permissions=["change"])  # fmt: skip
    def write_off(self, request: HttpRequest, queryset: QuerySet[Mismatch]) -> Any:
        return action_with_reason(
            self, request, queryset, action="write_off", title="Write off mismatches",
            reason_required=True, done="written off, or asked for approval",
            apply=lambda actor, m, reason: mismatches.mismatch_write_off(
                actor=actor, mismatch_id=m.pk, reason=reason),
        )  # fmt: skip

    @admin.action(description="Approve the write-off (not your own)", permissions=["change"])
    def approve_write_off(self, request: HttpRequest, queryset: QuerySet[Mismatch]) -> None:
        actor = actor_for_request(request)
        for m in queryset:
            try:
                mismatches.mismatch_write_off_approve(actor=actor, mismatch_id=m.pk)
            except DomainError as exc:
                self.message_user(request, f"{m.pk}: not written off. {exc.message}",
                                  messages.ERROR)  # fmt: skip
            else:
                self.message_user(request, f"{m.pk}: written off.", messages.SUCCESS)


@admin.register(SuggestedFunding)
class SuggestedFundingAdmin(_NoDelete):
    list_display = ("id", "line", "profile_id", "status", "entry_id", "decided_by", "created_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in SuggestedFunding._meta.fields]
    list_select_related = ("statement_line",)
    actions = ["confirm", "reject"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and request.user.has_perm("integrations.change_suggestedfunding")

    @admin.display(description="line")
    def line(self, s: SuggestedFunding) -> str:
        x = s.statement_line
        return (f"{format_minor(x.amount_minor, x.currency)} {x.currency} {x.value_date} "
                f"{x.remittance_info[:60]}")  # fmt: skip

    @admin.action(description="Confirm: credit the suggested profile's wallet…",
                  permissions=["change"])  # fmt: skip
    def confirm(self, request: HttpRequest, queryset: QuerySet[SuggestedFunding]) -> Any:
        return action_with_reason(
            self, request, queryset, action="confirm", title="Credit wallets",
            reason_required=True, done="credited",
            apply=lambda actor, s, note: fundings.funding_confirm(
                actor=actor, suggested_id=s.pk, note=note),
        )  # fmt: skip

    @admin.action(description="Reject…", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[SuggestedFunding]) -> Any:
        return action_with_reason(
            self, request, queryset, action="reject", title="Reject suggested fundings",
            reason_required=True, done="rejected",
            apply=lambda actor, s, note: fundings.funding_reject(
                actor=actor, suggested_id=s.pk, note=note),
        )  # fmt: skip


class ReconMatchItemInline(admin.TabularInline):
    model = ReconMatchItem
    fields = ("statement_line", "posting_id", "amount_minor", "posting_amount_minor", "active",
              "undone_at")  # fmt: skip
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(ReconMatch)
class ReconMatchAdmin(_NoDelete):
    list_display = ("id", "bank_account", "rule", "confidence", "created_by", "created_at")
    list_filter = ("rule", "bank_account")
    readonly_fields = [f.name for f in ReconMatch._meta.fields]
    inlines = [ReconMatchItemInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ShapeFilter(admin.SimpleListFilter):
    title = "shape"
    parameter_name = "shape"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("one", "One-to-one match (one row)"), ("side", "Side of a match")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "one":
            return queryset.filter(match__isnull=True)
        if self.value() == "side":
            return queryset.filter(match__isnull=False)
        return queryset


@admin.register(ReconMatchItem)
class ReconMatchItemAdmin(_NoDelete):
    """Every match side, and the one-to-one matches the matcher writes as one row each (no
    `ReconMatch`: they are listed here, with their rule and confidence)."""

    list_display = ("id", "match", "statement_line", "posting_id", "amount_minor",
                    "posting_amount_minor", "rule", "confidence", "active",
                    "created_at")  # fmt: skip
    list_filter = (ShapeFilter, "rule", "active")
    search_fields = ("=statement_line__id", "=posting_id", "=match__id")
    readonly_fields = [f.name for f in ReconMatchItem._meta.fields]
    list_select_related = ("match", "statement_line")
    show_full_result_count = False  # millions of rows: no count(*) per page

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReconRun)
class ReconRunAdmin(_NoDelete):
    list_display = ("id", "as_of", "trigger", "status", "started_at", "finished_at",
                    "exceptions", "open_mismatches", "error_count")  # fmt: skip
    list_filter = ("status", "trigger")
    readonly_fields = [f.name for f in ReconRun._meta.fields]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="exceptions")
    def exceptions(self, run: ReconRun) -> Any:
        return run.counts.get("exceptions", "")

    @admin.display(description="errors")
    def error_count(self, run: ReconRun) -> int:
        return len(run.errors)


@admin.register(PeriodClose)
class PeriodCloseAdmin(_NoDelete):
    list_display = ("period_start", "period_end", "closed_by", "closed_at", "downloads")
    readonly_fields = ("period_start", "period_end", "closed_by", "closed_at", "summary",
                       "report_sha256", "downloads")  # fmt: skip
    exclude = ("report_csv", "report_pdf")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/report.<str:kind>",
                self.admin_site.admin_view(self.report),
                name="integrations_periodclose_report",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="report")
    def downloads(self, p: PeriodClose) -> str:
        url = reverse("admin:integrations_periodclose_report", args=[p.pk, "csv"])
        pdf = reverse("admin:integrations_periodclose_report", args=[p.pk, "pdf"])
        return format_html('<a href="{}">CSV</a> · <a href="{}">PDF</a>', url, pdf)

    def report(self, request: HttpRequest, pk: int, kind: str) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse("finance only", status=403)
        p = get_object_or_404(PeriodClose, pk=pk)
        name = f"reconciliation-{p.period_start}-{p.period_end}"
        if kind == "pdf":
            response = HttpResponse(bytes(p.report_pdf), content_type="application/pdf")
        else:
            response = HttpResponse(p.report_csv, content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{name}.{kind}"'
        return response
