"""Install the ledger rules PostgreSQL enforces (SQL beside this file)."""

from pathlib import Path

from django.db import migrations

HERE = Path(__file__).resolve().parent


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=(HERE / "0002_database_rules.sql").read_text(),
            reverse_sql=(HERE / "0002_database_rules_reverse.sql").read_text(),
        ),
    ]
