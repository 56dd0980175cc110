"""Reconciliation: a one-to-one match is one row; fewer indexes on the items; statement
lines carry their normalised references (issue 17, the matching benchmark).

- `ReconMatchItem` gets a match's own fields (`rule`, `confidence`, `created_by`,
  `created_at`, `undone_at`, `undone_by`) and `match` becomes optional: the matcher writes a
  one-to-one match as one item row and no `ReconMatch` row. Every item carries its match's
  `created_at` and `undone_at`, so the checks' "live as of" reads the items alone.
- Data: existing items get their match's times (`created_at`, `undone_at`); an item already
  inactive under a match not undone gets the migration's time as `undone_at` (it was undone,
  when is not recorded), and an item still active under an undone match is made inactive:
  then `active` = not undone, which a constraint keeps. Existing one-to-one matches keep
  their `ReconMatch` row (mismatches name them: `match:<id>`, `Mismatch.match`); both shapes
  are read everywhere.
- Indexes: the full `statement_line_id` and `match_id` indexes go (the partial unique ones
  serve live rows; small partial indexes the undone rows and the items of a `match`): three
  index insertions per one-to-one match instead of five.
- `StatementLine`: the end-to-end id, bank reference and remittance information normalised
  (upper case, A-Z and 0-9) as stored generated columns, computed once as a line is stored.
"""

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.db import migrations, models

BACKFILL = """
UPDATE integrations_reconmatchitem i
SET created_at = m.created_at,
    undone_at = CASE WHEN m.undone_at IS NOT NULL THEN m.undone_at
                     WHEN NOT i.active THEN now() END,
    undone_by = CASE WHEN m.undone_at IS NOT NULL OR NOT i.active THEN m.undone_by ELSE '' END,
    active = i.active AND m.undone_at IS NULL
FROM integrations_reconmatch m
WHERE m.id = i.match_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0019_reconmatch_account_key_once"),
    ]

    operations = [
        migrations.AddField(
            model_name="reconmatchitem",
            name="confidence",
            field=models.PositiveSmallIntegerField(blank=True, help_text="0-100", null=True),
        ),
        migrations.AddField(
            model_name="reconmatchitem",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="reconmatchitem",
            name="created_by",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="reconmatchitem",
            name="rule",
            field=models.CharField(
                blank=True,
                choices=[
                    ("exact_id", "Exact: end-to-end id / UETR / our reference"),
                    ("reference_amount", "Amount, currency, date window, reference"),
                    ("batch", "One line, many ledger records (batch payout)"),
                    ("split", "Many lines, one ledger record (split funding)"),
                    ("funding_confirmed", "Suggested funding confirmed by an operator"),
                    ("manual", "Matched by an operator"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="reconmatchitem",
            name="undone_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="reconmatchitem",
            name="undone_by",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="statementline",
            name="bank_reference_norm",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Upper(
                    models.Func(
                        models.F("bank_reference"),
                        models.Value("[^A-Za-z0-9]"),
                        models.Value(""),
                        models.Value("g"),
                        function="REGEXP_REPLACE",
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddField(
            model_name="statementline",
            name="end_to_end_id_norm",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Upper(
                    models.Func(
                        models.F("end_to_end_id"),
                        models.Value("[^A-Za-z0-9]"),
                        models.Value(""),
                        models.Value("g"),
                        function="REGEXP_REPLACE",
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddField(
            model_name="statementline",
            name="remittance_info_norm",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Upper(
                    models.Func(
                        models.F("remittance_info"),
                        models.Value("[^A-Za-z0-9]"),
                        models.Value(""),
                        models.Value("g"),
                        function="REGEXP_REPLACE",
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.AlterField(
            model_name="reconmatchitem",
            name="match",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                help_text="empty for a one-to-one match (this row is the whole match)",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="items",
                to="integrations.reconmatch",
            ),
        ),
        # By hand: Django's AlterField would also drop the partial unique index on the same
        # column (reconmatchitem_line_once), taking it for the field's own index.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="reconmatchitem",
                    name="statement_line",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="integrations.statementline",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX "integrations_reconmatchitem_statement_line_id_c8a7ad3d"',
                    'CREATE INDEX "integrations_reconmatchitem_statement_line_id_c8a7ad3d"'
                    ' ON "integrations_reconmatchitem" ("statement_line_id")',
                )
            ],
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="reconmatchitem",
            index=models.Index(
                condition=models.Q(("match__isnull", False)),
                fields=["match"],
                name="reconmatchitem_match",
            ),
        ),
        migrations.AddIndex(
            model_name="reconmatchitem",
            index=models.Index(
                condition=models.Q(("active", False)),
                fields=["statement_line"],
                name="reconmatchitem_line_undone",
            ),
        ),
        migrations.AddIndex(
            model_name="reconmatchitem",
            index=models.Index(
                condition=models.Q(("active", False)),
                fields=["posting_id"],
                name="reconmatchitem_posting_undone",
            ),
        ),
        migrations.AddIndex(
            model_name="reconmatchitem",
            index=models.Index(
                condition=models.Q(
                    ("match__isnull", True),
                    models.Q(("amount_minor", models.F("posting_amount_minor")), _negated=True),
                ),
                fields=["id"],
                name="reconmatchitem_amounts_differ",
            ),
        ),
        migrations.AddConstraint(
            model_name="reconmatchitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("match__isnull", False),
                    models.Q(
                        ("confidence__isnull", False),
                        ("posting_id__isnull", False),
                        ("rule__gt", ""),
                        ("statement_line__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="reconmatchitem_own_match",
            ),
        ),
        migrations.AddConstraint(
            model_name="reconmatchitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("active", True), ("undone_at__isnull", True)),
                    models.Q(("active", False), ("undone_at__isnull", False)),
                    _connector="OR",
                ),
                name="reconmatchitem_active_not_undone",
            ),
        ),
    ]
