"""Reconciliation matches: foreign keys checked once per statement, not once per row; a
one-to-one match as one item row carrying both sides (`posting_amount_minor`).

The matcher inserts 100,000s of match items in one statement; PostgreSQL's foreign key
triggers look up and row-lock the parent once per row (7 s of 11 s at 100,000 lines). The
three keys (item -> match, item -> statement line, match -> bank account) lose their
constraint triggers and get instead:

- a statement-level trigger per table and event (INSERT, UPDATE) that joins the new rows
  (a transition table) with the parent and refuses the whole statement (SQLSTATE 23503, as
  a foreign key would) when a parent is missing;
- a row-level trigger on each parent refusing to delete, or change the id of, a row that is
  still referenced (ON DELETE RESTRICT). The parents are never deleted by the application;
  the matcher holds the bank account's row lock while it writes.
"""

import django.db.models.deletion
from django.db import migrations, models


_CHILD_CHECK = """
CREATE FUNCTION recon_{name}_keys() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE missing bigint;
BEGIN
    SELECT n.{column} INTO missing FROM recon_new n
    WHERE n.{column} IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM {parent} x WHERE x.id = n.{column})
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key "{name}"', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key ({column})=(%s) is not present in table "{parent}".', missing);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER recon_{name}_ins AFTER INSERT ON {child}
    REFERENCING NEW TABLE AS recon_new FOR EACH STATEMENT EXECUTE FUNCTION recon_{name}_keys();
CREATE TRIGGER recon_{name}_upd AFTER UPDATE ON {child}
    REFERENCING NEW TABLE AS recon_new FOR EACH STATEMENT EXECUTE FUNCTION recon_{name}_keys();
CREATE FUNCTION recon_{name}_restrict() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id)
       AND EXISTS (SELECT 1 FROM {child} c WHERE c.{column} = OLD.id) THEN
        RAISE EXCEPTION 'update or delete on table "{parent}" violates foreign key "{name}"'
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (id)=(%s) is still referenced from table "{child}".', OLD.id);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER recon_{name}_restrict BEFORE DELETE OR UPDATE OF id ON {parent}
    FOR EACH ROW EXECUTE FUNCTION recon_{name}_restrict();
"""

_DROP = """
DROP TRIGGER recon_{name}_restrict ON {parent};
DROP FUNCTION recon_{name}_restrict();
DROP TRIGGER recon_{name}_ins ON {child};
DROP TRIGGER recon_{name}_upd ON {child};
DROP FUNCTION recon_{name}_keys();
"""

_KEYS = [
    {"name": "item_match", "child": "integrations_reconmatchitem", "column": "match_id",
     "parent": "integrations_reconmatch"},
    {"name": "item_line", "child": "integrations_reconmatchitem",
     "column": "statement_line_id", "parent": "integrations_statementline"},
    {"name": "match_account", "child": "integrations_reconmatch", "column": "bank_account_id",
     "parent": "integrations_bankaccount"},
]  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0015_crm_sandbox_grant"),
    ]

    operations = [
        migrations.AlterField(
            model_name="reconmatch",
            name="bank_account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="integrations.bankaccount",
            ),
        ),
        migrations.AlterField(
            model_name="reconmatchitem",
            name="match",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="items",
                to="integrations.reconmatch",
            ),
        ),
        migrations.AlterField(
            model_name="reconmatchitem",
            name="statement_line",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="integrations.statementline",
            ),
        ),
        *[migrations.RunSQL(_CHILD_CHECK.format(**key), _DROP.format(**key)) for key in _KEYS],
        # One-to-one matches as one item row with both sides (and both amounts).
        migrations.RemoveConstraint(
            model_name="reconmatchitem",
            name="reconmatchitem_one_side",
        ),
        migrations.AddField(
            model_name="reconmatchitem",
            name="posting_amount_minor",
            field=models.BigIntegerField(
                blank=True, help_text="the posting's amount, when the row has both sides", null=True
            ),
        ),
        migrations.AddConstraint(
            model_name="reconmatchitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("posting_amount_minor__isnull", True),
                        ("posting_id__isnull", False),
                        ("statement_line__isnull", True),
                    ),
                    models.Q(
                        ("posting_amount_minor__isnull", True),
                        ("posting_id__isnull", True),
                        ("statement_line__isnull", False),
                    ),
                    models.Q(
                        ("posting_amount_minor__isnull", False),
                        ("posting_id__isnull", False),
                        ("statement_line__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="reconmatchitem_sides",
            ),
        ),
    ]
