"""Read-only ledger screens: nobody adds, changes or deletes ledger rows in the admin.

Money only moves through `ledger.services`; these pages answer an operator's or an
auditor's questions: what does this account hold, which entries moved it, and what is
its statement over a period.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import format_html
from iso4217 import Currency

from ledger.models import Account, Hold, JournalEntry, Posting
from ledger.selectors import account_statement


def format_minor(amount_minor: int | None, currency: str) -> str:
    """Minor units as a major-unit string for display ("1234.50")."""
    if amount_minor is None:
        return "-"
    exponent = Currency(currency).exponent or 0
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 10**exponent)
    return f"{sign}{whole:,}.{frac:0{exponent}d}" if exponent else f"{sign}{whole:,}"


class ReadOnlyAdmin(admin.ModelAdmin):
    """View permission only, for everyone including superusers."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = [
        "code",
        "name",
        "type",
        "currency",
        "owner",
        "status",
        "posted",
        "held",
        "available",
        "statement_link",
    ]
    list_filter = ["type", "currency", "status", "allow_negative"]
    search_fields = ["code", "owner", "name"]
    list_select_related = ["balance"]
    readonly_fields = ["posted", "held", "available", "statement_link"]
    ordering = ["code"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Account]:
        # One query for the page: the balance row comes with each account.
        return super().get_queryset(request).select_related("balance")

    @admin.display(description="posted")
    def posted(self, obj: Account) -> str:
        return format_minor(obj.balance.posted_minor, obj.currency)

    @admin.display(description="held", ordering="balance__held_minor")
    def held(self, obj: Account) -> str:
        return format_minor(obj.balance.held_minor, obj.currency)

    @admin.display(description="available")
    def available(self, obj: Account) -> str:
        return format_minor(obj.balance.available_minor, obj.currency)

    @admin.display(description="statement")
    def statement_link(self, obj: Account) -> str:
        url = reverse("admin:ledger_account_statement", args=[obj.pk])
        return format_html('<a href="{}">statement</a>', url)

    def get_urls(self) -> list[URLPattern]:
        urls: list[URLPattern] = [
            path(
                "<int:account_id>/statement/",
                self.admin_site.admin_view(self.statement_view),
                name="ledger_account_statement",
            )
        ]
        return urls + super().get_urls()

    def statement_view(self, request: HttpRequest, account_id: int) -> HttpResponse:
        """The account's postings in a period with a running balance (?start=&end= dates)."""
        account = get_object_or_404(Account, pk=account_id)
        if not self.has_view_permission(request, account):
            raise PermissionDenied
        start = _day(request.GET.get("start"))
        end = _day(request.GET.get("end"))
        statement = account_statement(account_id=account.pk, start=start, end=end)
        rows = [
            {
                "line": line,
                "debit": format_minor(line.debit_minor, account.currency)
                if line.debit_minor
                else "",
                "credit": format_minor(line.credit_minor, account.currency)
                if line.credit_minor
                else "",
                "running": format_minor(line.running_minor, account.currency),
                "entry_url": reverse("admin:ledger_journalentry_change", args=[line.entry_id]),
            }
            for line in statement.lines
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Statement of {account.code}",
            "account": account,
            "statement": statement,
            "rows": rows,
            "opening": format_minor(statement.opening_minor, account.currency),
            "closing": format_minor(statement.closing_minor, account.currency),
            "posted": format_minor(statement.account.posted_minor, account.currency),
            "start": request.GET.get("start", ""),
            "end": request.GET.get("end", ""),
        }
        return TemplateResponse(request, "admin/ledger/account/statement.html", context)


def _day(value: str | None) -> datetime | None:
    """A YYYY-MM-DD query parameter as the start of that day (UTC); ignored if malformed."""
    day = parse_date(value) if value else None
    if day is None:
        return None
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class PostingInline(ReadOnlyInline):
    model = Posting
    fields = ["account", "currency", "debit", "credit"]
    readonly_fields = ["account", "currency", "debit", "credit"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Posting]:
        return super().get_queryset(request).select_related("account")

    @admin.display(description="debit")
    def debit(self, obj: Posting) -> str:
        return format_minor(obj.debit_minor, obj.currency) if obj.debit_minor else ""

    @admin.display(description="credit")
    def credit(self, obj: Posting) -> str:
        return format_minor(obj.credit_minor, obj.currency) if obj.credit_minor else ""


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "effective_at", "memo", "idempotency_key", "reverses", "created_at"]
    list_filter = [("reverses", admin.EmptyFieldListFilter), "effective_at"]
    search_fields = ["idempotency_key", "memo", "=id"]
    date_hierarchy = "effective_at"
    list_select_related = ["reverses"]
    inlines = [PostingInline]
    readonly_fields = [
        "idempotency_key",
        "memo",
        "effective_at",
        "created_at",
        "reverses",
        "metadata",
    ]


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ["id", "entry", "account", "currency", "debit_minor", "credit_minor"]
    # By entry date: the operator dashboard's revenue figures link here (?account=<id>&
    # entry__effective_at__gte=...), so each day's revenue opens as the postings behind it.
    list_filter = ["currency", ("entry__effective_at", admin.DateFieldListFilter)]
    search_fields = ["account__code", "=entry__id", "entry__idempotency_key"]
    list_select_related = ["entry", "account"]
    raw_id_fields = ["entry", "account"]


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "amount", "status", "expires_at", "created_at", "memo"]
    list_filter = ["status", "account__currency"]
    search_fields = ["account__code", "account__owner", "idempotency_key", "memo"]
    list_select_related = ["account"]
    readonly_fields = [
        "account",
        "amount_minor",
        "status",
        "idempotency_key",
        "memo",
        "expires_at",
        "created_at",
        "resolved_at",
        "capture_entry",
    ]

    @admin.display(description="amount", ordering="amount_minor")
    def amount(self, obj: Hold) -> str:
        return format_minor(obj.amount_minor, obj.account.currency)
