"""The match -> bank account key (migration 0016's statement-level check) looks each account
up once per statement, not once per inserted match.

Every match the matcher writes in one statement names the same bank account; probing the
account's primary key once per row cost 1.3 s of a 1,000,000-line match (EXPLAIN ANALYZE).
The new rows' distinct accounts (a hash aggregate over the transition table) are checked
instead: the same rows are refused, with the same error.
"""

from django.db import migrations

_FUNCTION = """
CREATE OR REPLACE FUNCTION recon_match_account_keys() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE missing bigint;
BEGIN
    SELECT n.bank_account_id INTO missing
    FROM ({rows}) n
    WHERE n.bank_account_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM integrations_bankaccount x WHERE x.id = n.bank_account_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key "match_account"', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (bank_account_id)=(%s) is not present in table "integrations_bankaccount".', missing);
    END IF;
    RETURN NULL;
END $$;
"""

_DISTINCT = _FUNCTION.format(rows="SELECT DISTINCT bank_account_id FROM recon_new")
_EVERY_ROW = _FUNCTION.format(rows="SELECT bank_account_id FROM recon_new")


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0018_dashboard_indexes"),
    ]

    operations = [migrations.RunSQL(_DISTINCT, _EVERY_ROW)]
