"""Statement import on real PostgreSQL: the vendors' files stored once, balance continuity
flagged (never absorbed), and every bad file refused with its reason and nothing stored.

People: ops (an operator) imports; fiona (finance) reads statements in the admin; eddie
(engineering) sees bank accounts but not their statements."""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path

import mt940
import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from fintech.core.errors import ValidationFailed
from fintech.core.models import AuditEvent
from fintech.core.services import Actor
from integrations.reconciliation.models import BankAccount, BankStatement, StatementLine
from integrations.reconciliation.services import statement_import
from tests.builders import build_user
from tests.third_party import THIRD_PARTY

CAMT = THIRD_PARTY / "camt"
JEJIK = THIRD_PARTY / "mt940" / "jejik"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not CAMT.is_dir(), reason="vendor files not present"),
]


def bank_account(number: str, currency: str, **extra) -> BankAccount:
    return BankAccount.objects.create(
        name=f"Sandbox bank {currency}",
        account_number=number,
        currency=currency,
        ledger_account_code=f"funding:sandbox-bank:{currency}",
        **extra,
    )


def import_file(actor, account: BankAccount, path: Path, content: bytes | None = None):
    return statement_import(
        actor=actor,
        bank_account_id=account.pk,
        filename=path.name,
        content=path.read_bytes() if content is None else content,
    )


# --- camt ------------------------------------------------------------------------------------


def test_camt053_is_stored_with_its_lines_and_flagged_when_its_balances_do_not_add_up(ops_actor):
    account = bank_account("NL26VAYB8060476890", "EUR")

    result = import_file(ops_actor, account, CAMT / "camt053.v2.five.decimals.xml")

    assert not result.duplicate
    (statement,) = result.statements
    assert statement.format == "camt053"
    assert statement.statement_id == "253EURNL26VAYB8060476890"
    assert statement.sequence_number == "12312"
    assert (statement.opening_balance_minor, statement.closing_balance_minor) == (1815, 2705)
    # 18.15 + 8.85 = 27.00, the bank says 27.05: kept as the bank sent it, and flagged.
    assert statement.status == BankStatement.Status.FLAGGED
    assert statement.flags == ["opening + lines != closing: 1815 + 885 = 2700, closing 2705"]
    (line,) = statement.lines.all()
    assert (line.amount_minor, line.direction, line.currency) == (885, "credit", "EUR")
    assert line.end_to_end_id == "000000001"
    assert str(line.value_date) == "2015-01-02"
    assert AuditEvent.objects.filter(
        action="statement.imported", target_id=str(statement.pk), actor_label="user:ops"
    ).exists()


def test_a_balance_in_another_currency_is_flagged(ops_actor):
    account = bank_account("NL26VAYB8060476890", "EUR")

    (statement,) = import_file(ops_actor, account, CAMT / "camt053.v8.xml").statements

    assert "closing balance is in SEK, the account in EUR" in statement.flags


def test_camt054_notification_has_no_balances_to_chain_and_is_imported(ops_actor):
    account = bank_account("CH2801234000123456789", "SEK")

    (notification,) = import_file(ops_actor, account, CAMT / "camt054.v8.xml").statements

    assert notification.format == "camt054"
    assert notification.status == BankStatement.Status.IMPORTED
    (line,) = notification.lines.all()
    assert (line.amount_minor, line.direction) == (-20000000, "debit")
    assert line.end_to_end_id == "UXC06170000006PI00001EE00001"
    assert line.counterparty_name == "Example Creditor 3 - V1"


def test_reimporting_the_same_file_is_a_no_op_that_says_so(ops_actor):
    account = bank_account("CH2801234000123456789", "SEK")
    first = import_file(ops_actor, account, CAMT / "camt054.v4.xml")

    again = import_file(ops_actor, account, CAMT / "camt054.v4.xml")

    assert again.duplicate
    assert [s.pk for s in again.statements] == [s.pk for s in first.statements]
    assert BankStatement.objects.count() == 1
    assert StatementLine.objects.count() == 1


def test_the_wrong_camt_is_refused_and_nothing_is_stored(ops_actor):
    account = bank_account("NL26VAYB8060476890", "EUR")

    with pytest.raises(ValidationFailed, match="at least one Stmt is required"):
        import_file(ops_actor, account, CAMT / "camt053.v2.wrong.xml")

    assert not BankStatement.objects.exists()
    refusal = AuditEvent.objects.get(action="statement.refused")
    assert refusal.data["file_name"] == "camt053.v2.wrong.xml"


def test_truncated_xml_is_refused_with_a_reason(ops_actor):
    account = bank_account("NL26VAYB8060476890", "EUR")
    content = (CAMT / "camt053.v3.xml").read_bytes()

    with pytest.raises(ValidationFailed) as refused:
        import_file(ops_actor, account, CAMT / "camt053.v3.xml", content[:700])

    assert refused.value.fields[0].code == "malformed_xml"
    assert "line" in refused.value.fields[0].message
    assert not BankStatement.objects.exists()


def test_a_statement_for_another_account_is_refused_naming_it(ops_actor):
    account = bank_account("GB33BUKB20201555555555", "EUR")

    with pytest.raises(ValidationFailed) as refused:
        import_file(ops_actor, account, CAMT / "camt053.v4.xml")

    assert refused.value.fields[0].code == "unknown_account"
    assert "NL26VAYB8060476890" in refused.value.fields[0].message


def test_a_statement_in_another_currency_is_refused_naming_the_line(ops_actor):
    account = bank_account("CH2801234000123456789", "EUR")

    with pytest.raises(ValidationFailed) as refused:
        import_file(ops_actor, account, CAMT / "camt054.v2.xml")

    assert refused.value.fields[0].code == "wrong_currency"
    assert refused.value.fields[0].field.endswith("/line[0]/currency")
    assert not StatementLine.objects.exists()


def test_binary_noise_is_refused(ops_actor):
    account = bank_account("11111111", "EUR")

    with pytest.raises(ValidationFailed) as refused:
        import_file(ops_actor, account, Path("noise.bin"), bytes(range(256)) * 8)

    assert refused.value.fields[0].code == "unknown_format"


# --- MT940 -----------------------------------------------------------------------------------


def _expected_flagged(path: Path) -> list[bool]:
    """Computed from the mt-940 package's own parse: a statement is inconsistent when its
    opening + lines != closing, or its opening != the previous statement's closing."""
    text = path.read_text(encoding="utf-8", errors="replace")
    flagged, previous_closing = [], None
    for chunk in re.split(r"^:20:", text, flags=re.MULTILINE)[1:]:
        statement = mt940.models.Transactions()
        statement.parse(":20:" + chunk)
        data = statement.data
        opening = (data.get("final_opening_balance") or data["intermediate_opening_balance"]).amount
        closing = (data.get("final_closing_balance") or data["intermediate_closing_balance"]).amount
        total = sum(t.data["amount"].amount for t in statement)
        flagged.append(
            opening.amount + total != closing.amount
            or (previous_closing is not None and opening.amount != previous_closing)
        )
        previous_closing = closing.amount
    return flagged


ONE_ACCOUNT_FILES = [p for p in sorted(JEJIK.glob("*.sta")) if p.name != "rabobank.sta"]


@pytest.mark.parametrize("path", ONE_ACCOUNT_FILES, ids=lambda p: p.name)
def test_every_mt940_fixture_is_flagged_exactly_where_its_balances_break(ops_actor, path):
    first = mt940.models.Transactions()
    first.parse(re.split(r"^:20:", path.read_text(errors="replace"), flags=re.MULTILINE)[1])
    account_number = first.data["account_identification"].replace(" ", "").upper()
    currency = first.data.get("final_opening_balance") or first.data["final_closing_balance"]
    account = bank_account(account_number, currency.amount.currency)

    result = import_file(ops_actor, account, path)

    flagged = [s.status == BankStatement.Status.FLAGGED for s in result.statements]
    balance_flags = [
        any(f.startswith(("opening + lines", "opening differs")) for f in s.flags)
        for s in result.statements
    ]
    assert balance_flags == _expected_flagged(path)
    assert flagged == balance_flags  # no other reason on these files
    assert StatementLine.objects.count() == sum(len(s.lines.all()) for s in result.statements)


def test_consistent_mt940_chains_statement_to_statement(ops_actor):
    account = bank_account("11111111", "EUR")

    result = import_file(ops_actor, account, JEJIK / "generic.sta")

    assert [(s.statement_id, s.status, s.flags) for s in result.statements] == [
        ("1", "imported", []),
        ("2", "imported", []),
    ]


def test_a_gap_in_the_statement_sequence_is_flagged(ops_actor):
    account = bank_account("11111111", "EUR")
    text = (JEJIK / "generic.sta").read_text()
    first, second = re.split(r"(?m)^-\s*$", text)[:2]
    import_file(ops_actor, account, Path("one.sta"), first.encode())

    (later,) = import_file(
        ops_actor, account, Path("five.sta"), second.replace(":28:2", ":28:5").encode()
    ).statements

    assert later.flags == ["gap in sequence: 1 then 5"]


def test_a_changed_closing_breaks_the_next_statements_opening(ops_actor):
    account = bank_account("11111111", "EUR")
    text = (JEJIK / "generic.sta").read_text()
    first, second = re.split(r"(?m)^-\s*$", text)[:2]
    import_file(ops_actor, account, Path("one.sta"), first.replace("EUR90,00", "EUR91,00").encode())

    (later,) = import_file(ops_actor, account, Path("two.sta"), second.encode()).statements

    assert later.flags == [
        "opening differs from the previous statement's closing: 9000 vs 9100 (1)"
    ]


def test_mt940_with_binary_noise_is_refused_naming_the_line(ops_actor):
    account = bank_account("11111111", "EUR")
    lines = (JEJIK / "generic.sta").read_bytes().splitlines(keepends=True)
    lines[5] = b"\x07\x1b" + lines[5]

    with pytest.raises(ValidationFailed) as refused:
        import_file(ops_actor, account, Path("noisy.sta"), b"".join(lines))

    assert refused.value.fields[0].field == "noisy.sta:6"
    assert not BankStatement.objects.exists()


def test_a_file_with_a_statement_for_another_account_is_refused_whole(ops_actor):
    account = bank_account("1291.99.348EUR", "EUR")

    with pytest.raises(ValidationFailed) as refused:
        import_file(ops_actor, account, JEJIK / "rabobank.sta")

    assert "1526.89.184EUR" in refused.value.fields[0].message
    assert not BankStatement.objects.exists()


# --- CSV -------------------------------------------------------------------------------------

MAPPING = {"date": "Date", "amount": "Amount", "currency": "Currency", "reference": "Ref"}
CSV = b"Date,Amount,Currency,Ref\n2026-03-01,100.00,GBP,PAYOUT-1\n2026-03-02,-2.50,GBP,FEE\n"


def test_csv_with_the_accounts_saved_mapping_is_imported(ops_actor):
    account = bank_account("GB33BUKB20201555555555", "GBP", csv_mapping=MAPPING)

    (statement,) = import_file(ops_actor, account, Path("march.csv"), CSV).statements

    assert statement.format == "csv"
    assert statement.status == "imported"
    assert list(statement.lines.values_list("amount_minor", "bank_reference")) == [
        (10000, "PAYOUT-1"),
        (-250, "FEE"),
    ]


def test_csv_whose_mapping_does_not_fit_is_refused_naming_the_column(ops_actor):
    account = bank_account(
        "GB33BUKB20201555555555", "GBP", csv_mapping={**MAPPING, "reference": "Reference"}
    )

    with pytest.raises(ValidationFailed) as refused:
        import_file(ops_actor, account, Path("march.csv"), CSV)

    assert refused.value.fields[0].field == "march.csv:1/Reference"


# --- the command, the admin, the roles --------------------------------------------------------


def test_the_command_reports_each_file(ops, tmp_path):
    account = bank_account("11111111", "EUR")
    noisy = tmp_path / "noisy.sta"
    noisy.write_bytes(b"\x00\x01" * 50)
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 of 3 files refused"):
        call_command(
            "statement_import",
            str(account.pk),
            str(JEJIK / "generic.sta"),
            str(JEJIK / "generic.sta"),
            str(noisy),
            stdout=out,
        )

    report = out.getvalue().splitlines()
    assert report[0].endswith("generic.sta: imported: 2 statements, 2 lines")
    assert report[1].endswith("generic.sta: duplicate: already imported (2 statements)")
    assert report[2].startswith(f"{noisy}: refused: ")


def test_the_command_lists_the_flags(ops):
    account = bank_account("NL26VAYB8060476890", "EUR")
    out = io.StringIO()

    call_command(
        "statement_import", str(account.pk), str(CAMT / "camt053.v2.five.decimals.xml"), stdout=out
    )

    assert "flagged: 1 statements, 1 lines" in out.getvalue()
    assert "  - 253EURNL26VAYB8060476890: opening + lines != closing" in out.getvalue()


def _staff(client, username: str, role: str):
    user = build_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return client


def test_finance_reads_statements_and_their_flags_in_the_admin(client, ops_actor):
    account = bank_account("NL26VAYB8060476890", "EUR")
    (statement,) = import_file(ops_actor, account, CAMT / "camt053.v2.five.decimals.xml").statements
    fiona = _staff(client, "fiona", "finance")

    listing = fiona.get(reverse("admin:integrations_bankstatement_changelist") + "?status=flagged")
    assert listing.status_code == 200
    assert "opening + lines != closing" in listing.content.decode()
    detail = fiona.get(reverse("admin:integrations_bankstatement_change", args=[statement.pk]))
    assert detail.status_code == 200
    lines = fiona.get(reverse("admin:integrations_statementline_changelist") + "?q=000000001")
    assert "000000001" in lines.content.decode()
    assert (
        fiona.get(reverse("admin:integrations_bankaccount_change", args=[account.pk])).status_code
        == 200
    )


def test_engineering_sees_bank_accounts_not_statements(client):
    eddie = _staff(client, "eddie", "engineering")

    assert eddie.get(reverse("admin:integrations_bankaccount_changelist")).status_code == 200
    assert eddie.get(reverse("admin:integrations_bankstatement_changelist")).status_code == 403
    assert eddie.get(reverse("admin:integrations_statementline_changelist")).status_code == 403


# --- two imports of one file at once ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_file_at_once_store_it_once() -> None:
    """Two real threads, each with its own connection, released together: the bank account's
    row lock makes the second wait, then see the first's statements and report a duplicate."""
    account = bank_account("11111111", "EUR")
    content = (JEJIK / "generic.sta").read_bytes()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def run(name: str) -> None:
        try:
            barrier.wait(timeout=30)
            result = statement_import(
                actor=Actor(label=f"user:{name}"),
                bank_account_id=account.pk,
                filename="generic.sta",
                content=content,
            )
            outcomes[name] = "duplicate" if result.duplicate else "imported"
        except Exception as exc:
            outcomes[name] = f"error: {exc!r}"
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(n,)) for n in ("ops1", "ops2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes.values()) == ["duplicate", "imported"], outcomes
    assert BankStatement.objects.filter(bank_account=account).count() == 2
    assert StatementLine.objects.filter(statement__bank_account=account).count() == 2
