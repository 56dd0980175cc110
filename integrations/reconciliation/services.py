"""Statement import: a bank's file in, one `BankStatement` per statement and its lines, or a
clear refusal. Nothing is matched or posted here."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace

from django.db import models, transaction

from fintech.core.errors import DomainError, FieldError, ValidationFailed
from fintech.core.services import Actor, audit_record
from integrations.reconciliation.models import BankAccount, BankStatement, StatementLine
from integrations.reconciliation.parsers.base import (
    ParsedLine,
    ParsedStatement,
    normalise_account,
    refuse,
)
from integrations.reconciliation.parsers.camt import is_camt, parse_camt
from integrations.reconciliation.parsers.csv_statement import parse_csv
from integrations.reconciliation.parsers.mt940_statement import is_mt940, parse_mt940
from integrations.reconciliation.parsers.partner_report import (
    is_partner_report,
    parse_partner_report,
)

FORMATS = ("camt053", "camt054", "camt", "mt940", "csv", "partner")
# Statements whose balances chain one to the next (a camt.054 notification has none; a CSV
# export has none either).
_CHAINED = (BankStatement.Format.CAMT053, BankStatement.Format.MT940)


@dataclass
class ImportResult:
    file_name: str
    duplicate: bool = False
    statements: list[BankStatement] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return any(s.status == BankStatement.Status.FLAGGED for s in self.statements)

    @property
    def flags(self) -> list[str]:
        return [f"{s.statement_id}: {flag}" for s in self.statements for flag in s.flags]

    @property
    def line_count(self) -> int:
        return sum(s.lines.count() for s in self.statements)


def statement_format_detect(*, content: bytes, bank_account: BankAccount, filename: str) -> str:
    if is_camt(content):
        return "camt"
    if is_mt940(content):
        return "mt940"
    if is_partner_report(content):
        return "partner"
    if bank_account.csv_mapping and b"\x00" not in content[:4000]:
        return "csv"
    raise refuse(
        filename, "unknown_format", "neither camt.053/054, MT940, nor CSV (no CSV mapping saved)"
    )


def _parse(
    *, fmt: str, content: bytes, filename: str, bank_account: BankAccount
) -> list[ParsedStatement]:
    if fmt in ("camt", "camt053", "camt054"):
        statements = parse_camt(content, filename=filename)
        if fmt != "camt" and any(s.format != fmt for s in statements):
            raise refuse(filename, "wrong_format", f"the file is {statements[0].format}, not {fmt}")
        return statements
    if fmt == "mt940":
        return parse_mt940(content, filename=filename)
    if fmt == "partner":
        return parse_partner_report(content, filename=filename)
    if fmt == "csv":
        return parse_csv(content, filename=filename, mapping=bank_account.csv_mapping)
    raise refuse("format", "unknown_format", f"{fmt!r} is not one of {', '.join(FORMATS)}")


def _belongs_checked(
    *, statements: list[ParsedStatement], bank_account: BankAccount, filename: str
) -> None:
    """Refuse a file for another account or in another currency: nothing of it is stored."""
    ours = normalise_account(bank_account.account_number)
    for index, statement in enumerate(statements):
        where = f"{filename}/statement[{index}] {statement.statement_id}"
        if statement.format != "csv" and statement.account_number != ours:
            raise refuse(
                f"{where}/account",
                "unknown_account",
                f"account {statement.account_number!r} is not bank account "
                f"{bank_account.pk} ({ours})",
            )
        if statement.currency and statement.currency != bank_account.currency:
            raise refuse(
                f"{where}/currency",
                "wrong_currency",
                f"the statement is in {statement.currency}, "
                f"the bank account in {bank_account.currency}",
            )
        for number, line in enumerate(statement.lines):
            if line.currency != bank_account.currency:
                raise refuse(
                    f"{where}/line[{number}]/currency",
                    "wrong_currency",
                    f"a {line.currency} line on a {bank_account.currency} bank account",
                )


def _continuity_flags(
    *, parsed: ParsedStatement, bank_account: BankAccount, checksum: str
) -> list[str]:
    flags: list[str] = []
    currency = bank_account.currency
    for label, balance in (("opening", parsed.opening), ("closing", parsed.closing)):
        if balance is not None and balance.currency != currency:
            flags.append(f"{label} balance is in {balance.currency}, the account in {currency}")
    if parsed.format not in _CHAINED:
        return flags
    if parsed.opening is None or parsed.closing is None:
        flags.append("opening or closing balance missing")
    else:
        total = sum(line.amount_minor for line in parsed.lines)
        if parsed.opening.amount_minor + total != parsed.closing.amount_minor:
            flags.append(
                f"opening + lines != closing: {parsed.opening.amount_minor} + {total} = "
                f"{parsed.opening.amount_minor + total}, closing {parsed.closing.amount_minor}"
            )
    other_file = (
        BankStatement.objects.filter(bank_account=bank_account, statement_id=parsed.statement_id)
        .exclude(checksum=checksum)
        .first()
    )
    if other_file is not None:
        flags.append(
            f"statement id already imported from {other_file.file_name} (a different file)"
        )
    previous = BankStatement.objects.filter(
        bank_account=bank_account, format__in=_CHAINED, closing_balance_minor__isnull=False
    ).order_by("-closing_date", "-id")
    if parsed.opening is not None and parsed.opening.date is not None:
        previous = previous.filter(closing_date__lte=parsed.opening.date)
    last = previous.first()
    if last is not None:
        if parsed.opening is not None and parsed.opening.amount_minor != last.closing_balance_minor:
            flags.append(
                "opening differs from the previous statement's closing: "
                f"{parsed.opening.amount_minor} vs {last.closing_balance_minor} "
                f"({last.statement_id})"
            )
        if parsed.sequence_number.isdigit() and last.sequence_number.isdigit():
            before, now = int(last.sequence_number), int(parsed.sequence_number)
            # The same number again is the next page of one statement.
            if now not in (before, before + 1):
                flags.append(
                    f"gap in sequence: {last.sequence_number} then {parsed.sequence_number}"
                )
    return flags


def _line_key(line: ParsedLine | StatementLine) -> tuple[str, str, int, str]:
    return (line.end_to_end_id[:200], line.bank_reference[:200], line.amount_minor, line.currency)


def _partner_revision(
    *, parsed: ParsedStatement, bank_account: BankAccount
) -> tuple[str, ParsedStatement, list[str]]:
    """A partner's report for a day it already reported, with different content (pulled again
    after a payout was returned, say): stored as the next revision, `<id>#r<n>`, holding only
    the lines no earlier revision had, so nothing is counted twice and the earlier lines keep
    their matches. A line an earlier revision had and this one lacks is never deleted: the
    revision is flagged, naming it."""
    earlier = BankStatement.objects.filter(bank_account=bank_account).filter(
        models.Q(statement_id=parsed.statement_id)
        | models.Q(statement_id__startswith=f"{parsed.statement_id}#r")
    )
    if not earlier.exists():
        return parsed.statement_id, parsed, []
    had = Counter(_line_key(line) for line in StatementLine.objects.filter(statement__in=earlier))
    new_lines = []
    for line in parsed.lines:
        key = _line_key(line)
        if had[key]:
            had[key] -= 1
        else:
            new_lines.append(line)
    flags = [
        f"an earlier revision's line is no longer in the report: {e2e or ref} {amount} {ccy}"
        for (e2e, ref, amount, ccy), n in sorted(had.items())
        for _ in range(n)
    ]
    statement_id = f"{parsed.statement_id}#r{earlier.count() + 1}"
    return statement_id, replace(parsed, lines=new_lines), flags


def statement_import(
    *,
    actor: Actor,
    bank_account_id: int,
    filename: str,
    content: bytes,
    format: str | None = None,
) -> ImportResult:
    """Parse and store one file. Refuses (ValidationFailed naming file, line and field) a file
    that is malformed, for another account or in another currency: nothing of it is stored.
    A file already imported is a no-op (`duplicate=True`). Broken balance continuity is
    stored and FLAGGED, never corrected. A partner's report for a day already reported is
    stored as a revision holding only its new lines (`_partner_revision`)."""
    bank_account = BankAccount.objects.filter(pk=bank_account_id).first()
    if bank_account is None:
        raise ValidationFailed(
            [FieldError("bank_account_id", "not_found", f"no bank account {bank_account_id}")]
        )
    checksum = hashlib.sha256(content).hexdigest()
    try:
        fmt = format or statement_format_detect(
            content=content, bank_account=bank_account, filename=filename
        )
        parsed = _parse(fmt=fmt, content=content, filename=filename, bank_account=bank_account)
        _belongs_checked(statements=parsed, bank_account=bank_account, filename=filename)
    except DomainError as exc:
        audit_record(
            actor=actor,
            action="statement.refused",
            target=bank_account,
            reason=str(exc)[:1000],
            data={"file_name": filename, "checksum": checksum},
        )
        raise
    with transaction.atomic():
        # One import per bank account at a time: the continuity checks read the previous
        # statement, and two files racing would each miss the other.
        BankAccount.objects.select_for_update().get(pk=bank_account.pk)
        existing = list(
            BankStatement.objects.filter(bank_account=bank_account, checksum=checksum).order_by(
                "id"
            )
        )
        if existing:
            return ImportResult(file_name=filename, duplicate=True, statements=existing)
        stored = []
        seen: dict[str, int] = {}
        for statement in parsed:
            # Some banks number no statements (MT940 ":28C:0"): two in one file would share
            # an id; the second is stored as "<id>#2" (the file's checksum already sets them
            # apart from any other file).
            seen[statement.statement_id] = seen.get(statement.statement_id, 0) + 1
            statement_id = statement.statement_id + (
                f"#{seen[statement.statement_id]}" if seen[statement.statement_id] > 1 else ""
            )
            flags = _continuity_flags(
                parsed=statement, bank_account=bank_account, checksum=checksum
            )
            if statement.format == BankStatement.Format.PARTNER:
                statement_id, statement, removed = _partner_revision(
                    parsed=statement, bank_account=bank_account
                )
                flags += removed
            row = BankStatement.objects.create(
                bank_account=bank_account,
                format=statement.format,
                statement_id=statement_id[:200],
                sequence_number=statement.sequence_number[:40],
                checksum=checksum,
                opening_balance_minor=statement.opening.amount_minor if statement.opening else None,
                opening_date=statement.opening.date if statement.opening else None,
                closing_balance_minor=statement.closing.amount_minor if statement.closing else None,
                closing_date=statement.closing.date if statement.closing else None,
                status=BankStatement.Status.FLAGGED if flags else BankStatement.Status.IMPORTED,
                flags=flags,
                file_name=filename[:255],
                imported_by=actor.label,
                imported_by_user_id=actor.user_id,
            )
            StatementLine.objects.bulk_create(
                StatementLine(
                    statement=row,
                    position=position,
                    value_date=line.value_date,
                    booking_date=line.booking_date,
                    amount_minor=line.amount_minor,
                    direction=(
                        StatementLine.Direction.CREDIT
                        if line.amount_minor >= 0
                        else StatementLine.Direction.DEBIT
                    ),
                    currency=line.currency,
                    bank_reference=line.bank_reference[:200],
                    end_to_end_id=line.end_to_end_id[:200],
                    uetr=line.uetr[:36],
                    counterparty_name=line.counterparty_name,
                    counterparty_account=line.counterparty_account,
                    remittance_info=line.remittance_info,
                    raw=line.raw,
                )
                for position, line in enumerate(statement.lines)
            )
            audit_record(
                actor=actor,
                action="statement.imported",
                target=row,
                reason="; ".join(flags),
                data={
                    "file_name": filename,
                    "checksum": checksum,
                    "format": statement.format,
                    "lines": len(statement.lines),
                    "flags": flags,
                },
            )
            stored.append(row)
    return ImportResult(file_name=filename, statements=stored)
