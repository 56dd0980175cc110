"""Statements in the admin: bank accounts (editable: name, ledger account, CSV mapping),
statements with their balance-continuity flags (read-only; filter the flagged ones) and their
lines (read-only; search by bank reference, end-to-end id, UETR). Imports go through the
`statement_import` management command (the service), never through a form here.

Roles (fintech/core/staff.py): finance views all three and edits bank accounts.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from fintech.core.money import format_minor

# The workbench (matches, mismatches, suggested fundings, runs, closed periods) registers
# its pages on import.
from integrations.reconciliation.admin_workbench import MatchedFilter, line_match_view
from integrations.reconciliation.models import BankAccount, BankStatement, StatementLine


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # statements are evidence: never deleted


@admin.register(BankAccount)
class BankAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "account_number", "currency", "ledger_account_code", "created_at")
    search_fields = ("name", "account_number", "ledger_account_code")
    list_filter = ("currency",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its statements point at it


class StatementLineInline(admin.TabularInline):
    model = StatementLine
    fields = (
        "position",
        "value_date",
        "amount",
        "bank_reference",
        "end_to_end_id",
        "counterparty_name",
    )
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    @admin.display(description="amount")
    def amount(self, line: StatementLine) -> str:
        return f"{format_minor(line.amount_minor, line.currency)} {line.currency}"


@admin.register(BankStatement)
class BankStatementAdmin(_ReadOnly):
    list_display = (
        "statement_id",
        "bank_account",
        "format",
        "sequence_number",
        "opening",
        "closing",
        "status",
        "flag_list",
        "file_name",
        "imported_at",
        "imported_by",
    )
    list_filter = ("status", "format", "bank_account")
    search_fields = ("statement_id", "file_name", "checksum")
    readonly_fields = [f.name for f in BankStatement._meta.fields] + ["flag_list"]
    inlines = [StatementLineInline]

    def _money(self, statement: BankStatement, amount: int | None) -> str:
        currency = statement.bank_account.currency
        return "" if amount is None else f"{format_minor(amount, currency)} {currency}"

    @admin.display(description="opening")
    def opening(self, statement: BankStatement) -> str:
        return self._money(statement, statement.opening_balance_minor)

    @admin.display(description="closing")
    def closing(self, statement: BankStatement) -> str:
        return self._money(statement, statement.closing_balance_minor)

    @admin.display(description="flags")
    def flag_list(self, statement: BankStatement) -> str:
        return format_html_join("", "<div>{}</div>", ((flag,) for flag in statement.flags))


@admin.register(StatementLine)
class StatementLineAdmin(_ReadOnly):
    list_display = (
        "statement",
        "position",
        "value_date",
        "booking_date",
        "amount_minor",
        "currency",
        "direction",
        "bank_reference",
        "end_to_end_id",
        "counterparty_name",
        "match_link",
    )
    list_filter = (MatchedFilter, "direction", "currency", "statement__bank_account")
    search_fields = ("bank_reference", "end_to_end_id", "uetr", "remittance_info")
    readonly_fields = [f.name for f in StatementLine._meta.fields]
    list_select_related = ("statement",)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:line_id>/match/",
                self.admin_site.admin_view(self.match_view),
                name="integrations_statementline_match",
            ),
            *super().get_urls(),
        ]

    def match_view(self, request: HttpRequest, line_id: int) -> Any:
        return line_match_view(self, request, line_id)

    @admin.display(description="match")
    def match_link(self, line: StatementLine) -> str:
        url = reverse("admin:integrations_statementline_match", args=[line.pk])
        return format_html('<a href="{}">match…</a>', url)
