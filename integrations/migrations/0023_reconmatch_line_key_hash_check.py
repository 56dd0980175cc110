"""The item -> statement line key (migration 0016's statement-level check) is planned for the
statement's own number of rows: a hash anti join when a match run inserts 100,000s of items,
an index probe per row when an operator inserts a few.

0016's check was a static query with LIMIT 1, planned once per session and cached by
PL/pgSQL: a nested loop probing the lines' primary key (and the heap, for recently imported
lines) once per new item, 0.15 to 0.2 s of the 90,000 items of a 100,000-line match
(EXPLAIN ANALYZE). Now the query is run with EXECUTE (planned each time, seeing the
transition table's row count) and without LIMIT (an aggregate: the planner costs the whole
anti join, not its first row). The same rows are refused, with the same error.
"""

from django.db import migrations

_FUNCTION = """
CREATE OR REPLACE FUNCTION recon_item_line_keys() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE missing bigint;
BEGIN
    {query}
    IF {found} THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key "item_line"', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (statement_line_id)=(%s) is not present in table "integrations_statementline".', missing);
    END IF;
    RETURN NULL;
END $$;
"""

_PLANNED_PER_STATEMENT = _FUNCTION.format(
    query="""EXECUTE 'SELECT min(n.statement_line_id) FROM recon_new n
             WHERE n.statement_line_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM integrations_statementline x
                               WHERE x.id = n.statement_line_id)' INTO missing;""",
    found="missing IS NOT NULL",
)

# Migration 0016's, for the way back.
_FIRST_ROW = _FUNCTION.format(
    query="""SELECT n.statement_line_id INTO missing FROM recon_new n
    WHERE n.statement_line_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM integrations_statementline x WHERE x.id = n.statement_line_id)
    LIMIT 1;""",
    found="FOUND",
)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0022_inbox_compliance_cases"),
    ]

    operations = [migrations.RunSQL(_PLANNED_PER_STATEMENT, _FIRST_ROW)]
