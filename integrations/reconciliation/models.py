"""Bank statements and their lines, normalised from camt.053/054, MT940 and CSV.

- `BankAccount`: our account at a bank, the ledger account it mirrors, and (for CSV) the
  saved column mapping.
- `BankStatement`: one statement (or camt.054 notification) as imported: stored once per
  (bank account, statement id, checksum of the file). Balance continuity problems are kept
  as `flags` with status `flagged`: never absorbed, never corrected here.
- `StatementLine`: one booked entry. `amount_minor` is SIGNED: positive is money in (credit
  to our account), negative is money out (debit). `direction` repeats the sign as a word
  (a check constraint keeps the two consistent) so queries and operators read it plainly.

Imported by integrations/models.py so Django registers them with the `integrations` app.
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Upper
from django.utils import timezone
from django_fsm import FSMField, transition


class BankAccount(models.Model):
    name = models.CharField(max_length=200)
    # IBAN, or the bank's own account number (MT940 :25:, camt Acct/Id/Othr/Id), as the
    # statements spell it (spaces removed, upper case).
    account_number = models.CharField(max_length=64, unique=True)
    currency = models.CharField(max_length=3)
    # The ledger account this bank account mirrors, e.g. "funding:sandbox-bank:GBP".
    ledger_account_code = models.CharField(max_length=200)
    # For CSV statements: {"date": "...", "amount": "...", ...}; see parsers/csv_statement.py.
    csv_mapping = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_number}, {self.currency})"


class BankStatement(models.Model):
    class Format(models.TextChoices):
        CAMT053 = "camt053", "camt.053 statement"
        CAMT054 = "camt054", "camt.054 notification"
        MT940 = "mt940", "MT940"
        CSV = "csv", "CSV"
        PARTNER = "partner", "Payout partner settlement report"

    class Status(models.TextChoices):
        IMPORTED = "imported", "Imported"
        FLAGGED = "flagged", "Flagged"

    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="statements"
    )
    format = models.CharField(max_length=10, choices=Format.choices)
    statement_id = models.CharField(max_length=200)
    sequence_number = models.CharField(max_length=40, blank=True)
    checksum = models.CharField(max_length=64, help_text="sha256 of the file, hex")
    opening_balance_minor = models.BigIntegerField(null=True, blank=True)
    opening_date = models.DateField(null=True, blank=True)
    closing_balance_minor = models.BigIntegerField(null=True, blank=True)
    closing_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IMPORTED)
    flags = models.JSONField(default=list, blank=True)
    file_name = models.CharField(max_length=255)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.CharField(max_length=200, help_text="the actor's label")
    imported_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "statement_id", "checksum"],
                name="bankstatement_once_per_file",
            )
        ]
        indexes = [models.Index(fields=["bank_account", "closing_date"])]

    def __str__(self) -> str:
        return f"{self.statement_id} ({self.get_format_display()})"


def _normalised(field: str) -> Upper:
    """A reference as the matcher compares it: upper case, letters and digits only (the
    ledger side is normalised the same way in `matching`)."""
    return Upper(
        Func(F(field), Value("[^A-Za-z0-9]"), Value(""), Value("g"), function="REGEXP_REPLACE")
    )


class StatementLine(models.Model):
    class Direction(models.TextChoices):
        CREDIT = "credit", "Credit (money in)"
        DEBIT = "debit", "Debit (money out)"

    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField(help_text="0-based order in the statement")
    value_date = models.DateField(null=True, blank=True)
    booking_date = models.DateField(null=True, blank=True)
    amount_minor = models.BigIntegerField(help_text="signed: + money in, - money out")
    direction = models.CharField(max_length=6, choices=Direction.choices)
    currency = models.CharField(max_length=3)
    bank_reference = models.CharField(max_length=200, blank=True)
    end_to_end_id = models.CharField(max_length=200, blank=True)
    uetr = models.CharField(max_length=36, blank=True)
    counterparty_name = models.CharField(max_length=300, blank=True)
    counterparty_account = models.CharField(max_length=100, blank=True)
    remittance_info = models.TextField(blank=True)
    raw = models.TextField(blank=True, help_text="the entry as the file had it (shortened)")
    # The references normalised once, by PostgreSQL as the line is stored (generated
    # columns): matching compares these instead of normalising every line at each run.
    end_to_end_id_norm = models.GeneratedField(
        expression=_normalised("end_to_end_id"), output_field=models.TextField(), db_persist=True
    )
    bank_reference_norm = models.GeneratedField(
        expression=_normalised("bank_reference"), output_field=models.TextField(), db_persist=True
    )
    remittance_info_norm = models.GeneratedField(
        expression=_normalised("remittance_info"), output_field=models.TextField(), db_persist=True
    )

    class Meta:
        ordering = ["statement_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "position"], name="statementline_position"
            ),
            models.CheckConstraint(
                condition=(Q(amount_minor__gte=0, direction="credit"))
                | Q(amount_minor__lt=0, direction="debit"),
                name="statementline_direction_matches_sign",
            ),
        ]
        indexes = [
            models.Index(fields=["end_to_end_id"], name="stmtline_e2e"),
            models.Index(fields=["uetr"], name="stmtline_uetr"),
            models.Index(fields=["amount_minor", "currency", "value_date"], name="stmtline_amount"),
            models.Index(fields=["bank_reference"], name="stmtline_bankref"),
        ]

    def __str__(self) -> str:
        return f"{self.amount_minor} {self.currency} {self.value_date}"


# --- matching (issue 17, item 3) --------------------------------------------------------------


class ReconMatch(models.Model):
    """A match with more than two sides: statement lines on one side, ledger postings on the
    other, by one rule (batch, split, a confirmed funding, an operator's match), its sides
    being its `items`.

    A one-to-one match by a matching rule has no row here: it is one `ReconMatchItem` with
    both sides, its own rule, confidence and times (the matcher writes 100,000s of those).
    Written set-based by `matching.statement_lines_match` (one INSERT per rule, never a Python
    loop over lines) or by an operator (`manual`). Never deleted: undoing a match sets
    `undone_at` here and on its items, whose `active` then turns false."""

    class Rule(models.TextChoices):
        EXACT_ID = "exact_id", "Exact: end-to-end id / UETR / our reference"
        REFERENCE_AMOUNT = "reference_amount", "Amount, currency, date window, reference"
        BATCH = "batch", "One line, many ledger records (batch payout)"
        SPLIT = "split", "Many lines, one ledger record (split funding)"
        FUNDING_CONFIRMED = "funding_confirmed", "Suggested funding confirmed by an operator"
        MANUAL = "manual", "Matched by an operator"

    # The foreign keys of matches and their items are checked once per statement by triggers
    # (migration 0016), not per row: see the note on ReconMatchItem.
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    rule = models.CharField(max_length=20, choices=Rule.choices)
    confidence = models.PositiveSmallIntegerField(help_text="0-100")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200)
    note = models.TextField(blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "reconciliation matches"

    def __str__(self) -> str:
        return f"match {self.pk} ({self.rule}, {self.confidence}%)"


class ReconMatchItem(models.Model):
    """One side of a `match` (a `statement_line` or a `posting_id`), or a whole one-to-one
    match in one row: both sides, no `match`, and the match's own `rule`, `confidence` and
    `created_by` (one row per match, not two: the matcher writes 100,000s of them).
    `amount_minor` is the line's amount when the row has a line, else the posting's;
    `posting_amount_minor` is the posting's when the row has both (and only then).

    Every row carries its match's `created_at` and `undone_at` (a copy for the items of a
    `match`), so "live as of" is read from the items alone; `active` is "not undone" (a
    constraint keeps the two together) and the unique indexes on live rows serve the
    lookups, a small partial index the undone rows (replays of past dates).

    `match` and `statement_line` (and ReconMatch.bank_account) are foreign keys without a
    per-row constraint trigger: the matcher writes 100,000s of items in one INSERT, and
    PostgreSQL's row-by-row key checks (a lookup and a row lock on the parent per row) cost
    more than the rest of the matching (7 s of 11 s at 100,000 lines). Migration 0016 checks
    them per statement instead (a trigger joins the inserted rows with their parents and
    refuses the statement when one is missing) and refuses deleting a referenced parent; the
    parents are never deleted anyway."""

    match = models.ForeignKey(
        ReconMatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="items",
        db_constraint=False,
        db_index=False,  # a partial index: one-to-one rows have none
        help_text="empty for a one-to-one match (this row is the whole match)",
    )
    statement_line = models.ForeignKey(
        StatementLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the partial indexes below (live rows, undone rows)
    )
    # ledger.Posting's id: read from the ledger, never written (no FK: the ledger owns it).
    posting_id = models.BigIntegerField(null=True, blank=True)
    amount_minor = models.BigIntegerField(help_text="signed as the statement: + money in")
    posting_amount_minor = models.BigIntegerField(
        null=True, blank=True, help_text="the posting's amount, when the row has both sides"
    )
    active = models.BooleanField(default=True)
    # A one-to-one match's own; blank/empty on the items of a `match` (read it there).
    rule = models.CharField(max_length=20, choices=ReconMatch.Rule.choices, blank=True)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0-100")
    created_by = models.CharField(max_length=200, blank=True)
    # Every row's (the items of a `match` copy the match's).
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    statement_line__isnull=True,
                    posting_id__isnull=False,
                    posting_amount_minor__isnull=True,
                )
                | Q(
                    statement_line__isnull=False,
                    posting_id__isnull=True,
                    posting_amount_minor__isnull=True,
                )
                | Q(
                    statement_line__isnull=False,
                    posting_id__isnull=False,
                    posting_amount_minor__isnull=False,
                ),
                name="reconmatchitem_sides",
            ),
            # A row without a match is a whole one-to-one match: both sides, its rule.
            models.CheckConstraint(
                condition=Q(match__isnull=False)
                | Q(
                    statement_line__isnull=False,
                    posting_id__isnull=False,
                    confidence__isnull=False,
                    rule__gt="",
                ),
                name="reconmatchitem_own_match",
            ),
            models.CheckConstraint(
                condition=Q(active=True, undone_at__isnull=True)
                | Q(active=False, undone_at__isnull=False),
                name="reconmatchitem_active_not_undone",
            ),
            # A line or a posting is in at most one live match: the matcher's inserts race
            # nothing (runs are serialised per bank account), but a manual match in the
            # admin could; the database refuses the second.
            models.UniqueConstraint(
                fields=["statement_line"],
                condition=Q(active=True, statement_line__isnull=False),
                name="reconmatchitem_line_once",
            ),
            models.UniqueConstraint(
                fields=["posting_id"],
                condition=Q(active=True, posting_id__isnull=False),
                name="reconmatchitem_posting_once",
            ),
        ]
        indexes = [
            models.Index(
                fields=["match"], condition=Q(match__isnull=False), name="reconmatchitem_match"
            ),
            models.Index(
                fields=["statement_line"],
                condition=Q(active=False),
                name="reconmatchitem_line_undone",
            ),
            models.Index(
                fields=["posting_id"],
                condition=Q(active=False),
                name="reconmatchitem_posting_undone",
            ),
            # One-to-one matches whose two amounts differ (a check lists them nightly).
            models.Index(
                fields=["id"],
                condition=Q(match__isnull=True) & ~Q(amount_minor=F("posting_amount_minor")),
                name="reconmatchitem_amounts_differ",
            ),
        ]

    def __str__(self) -> str:
        sides = []
        if self.statement_line_id:
            sides.append(f"line {self.statement_line_id}")
        if self.posting_id:
            sides.append(f"posting {self.posting_id}")
        side = " and ".join(sides)
        if self.match_id is None:
            return f"one-to-one match {self.pk}: {side} ({self.rule}, {self.confidence}%)"
        return f"{side} in match {self.match_id}"


class SuggestedFunding(models.Model):
    """Money in that matched nothing: a wallet funding for an operator to confirm (through
    `fintech.wallets.services.wallet_fund`, idempotent on the bank reference). Never credited
    automatically."""

    class Status(models.TextChoices):
        SUGGESTED = "suggested", "Suggested"
        CONFIRMED = "confirmed", "Confirmed (wallet credited)"
        REJECTED = "rejected", "Rejected"

    statement_line = models.OneToOneField(
        StatementLine, on_delete=models.PROTECT, related_name="suggested_funding"
    )
    profile_id = models.BigIntegerField(null=True, blank=True, help_text="suggested profile")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.SUGGESTED, db_index=True
    )
    entry_id = models.BigIntegerField(null=True, blank=True, help_text="the funding's entry")
    decided_by = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"suggested funding for line {self.statement_line_id} ({self.status})"


# --- runs and mismatches (issue 17, items 5 and 6) -------------------------------------------


class ReconRun(models.Model):
    """One reconciliation run for a date: what ran, what it found, what failed."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (see errors)"

    as_of = models.DateField(db_index=True)
    trigger = models.CharField(max_length=20, default="manual", help_text="beat, manual, replay")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(max_length=200)
    # {"matched": {...rule: n}, "checks": {name: exceptions}, "opened": n, "closed": n, ...}
    counts = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    open_mismatches = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"run {self.pk} for {self.as_of} ({self.status})"


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), append_only=True
)
class Mismatch(models.Model):
    """A reconciliation exception for operators to work to zero.

    open -> investigating -> resolved | written_off; resolved or written_off -> open again
    (reopen) when a later run finds the same exception. One row per (check, key) for ever:
    a recurring exception reopens its row, so its history stays in one place. Transitions
    only set state and times; services in `mismatches.py` lock, check, audit."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        INVESTIGATING = "investigating", "Investigating"
        RESOLVED = "resolved", "Resolved"
        WRITTEN_OFF = "written_off", "Written off"

    class Resolution(models.TextChoices):
        MANUAL_MATCH = "manual_match", "Matched manually"
        CORRECTING_ENTRY = "correcting_entry", "Correcting ledger entry"
        WRITE_OFF = "write_off", "Written off"
        CLEARED = "cleared", "Cleared by a later run"
        NOTE = "note", "Resolved with a note"

    check_name = models.CharField(max_length=60, db_index=True)
    key = models.CharField(max_length=300, help_text="the exception's stable identity")
    bank_account = models.ForeignKey(
        BankAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    as_of = models.DateField(help_text="the run date that first found it")
    detail = models.TextField()
    ours = models.JSONField(default=dict, blank=True)
    theirs = models.JSONField(default=dict, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    difference_minor = models.BigIntegerField(default=0)
    state = FSMField(default=State.OPEN, choices=State.choices, protected=True, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    last_seen_run = models.ForeignKey(
        ReconRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    times_reopened = models.PositiveIntegerField(default=0)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    correcting_entry_id = models.BigIntegerField(null=True, blank=True)
    match = models.ForeignKey(
        ReconMatch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Maker-checker for write-offs above the threshold: the maker asks, another approves.
    write_off_requested_by = models.CharField(max_length=200, blank=True)
    write_off_requested_by_user_id = models.BigIntegerField(null=True, blank=True)
    write_off_requested_at = models.DateTimeField(null=True, blank=True)
    write_off_reason = models.TextField(blank=True)
    write_off_approved_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name_plural = "mismatches"
        permissions = [("work_mismatch", "Can work reconciliation mismatches")]
        constraints = [
            models.UniqueConstraint(fields=["check_name", "key"], name="mismatch_once_per_key")
        ]
        # Nothing is deleted: PostgreSQL refuses it, whatever the caller.
        triggers = [pgtrigger.Protect(name="mismatch_no_delete", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.check_name}: {self.key} ({self.state})"

    @transition(field=state, source=State.OPEN, target=State.INVESTIGATING)
    def investigate(self) -> None:
        pass

    @transition(field=state, source=[State.OPEN, State.INVESTIGATING], target=State.RESOLVED)
    def resolve(self) -> None:
        self.resolved_at = timezone.now()

    @transition(field=state, source=[State.OPEN, State.INVESTIGATING], target=State.WRITTEN_OFF)
    def write_off(self) -> None:
        self.resolved_at = timezone.now()

    @transition(field=state, source=[State.RESOLVED, State.WRITTEN_OFF], target=State.OPEN)
    def reopen(self) -> None:
        self.times_reopened += 1
        self.opened_at = timezone.now()
        self.resolved_at = None


class PeriodClose(models.Model):
    """A closed reconciliation period and its frozen report (CSV and PDF, as closed).
    Append-only: PostgreSQL refuses to change or delete it."""

    period_start = models.DateField()
    period_end = models.DateField()
    closed_at = models.DateTimeField(default=timezone.now)
    closed_by = models.CharField(max_length=200)
    summary = models.JSONField(default=dict)
    report_csv = models.TextField()
    report_pdf = models.BinaryField()
    report_sha256 = models.CharField(max_length=64, help_text="of the CSV, for auditors")

    class Meta:
        ordering = ["-period_end", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["period_start", "period_end"], name="period_once"),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="period_ordered"
            ),
        ]
        triggers = [
            pgtrigger.Protect(
                name="period_close_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self) -> str:
        return f"{self.period_start} to {self.period_end}"
