"""Idempotency keys are held by an advisory lock while their request runs; rows are only ever
written complete. In-progress rows left by the old scheme held nothing that committed (their
effects commit with the response), so they are deleted, and the columns that tracked them go."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0003_encrypt_stored_responses"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="idempotencyrecord", name="idempotency_completed_has_response"
        ),
        migrations.RunSQL(
            "DELETE FROM api_idempotencyrecord WHERE state <> 'completed' "
            "OR response_status IS NULL",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RemoveField(model_name="idempotencyrecord", name="state"),
        migrations.RemoveField(model_name="idempotencyrecord", name="owner"),
        migrations.RemoveField(model_name="idempotencyrecord", name="locked_at"),
        migrations.RemoveField(model_name="idempotencyrecord", name="completed_at"),
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="response_status",
            field=models.PositiveSmallIntegerField(),
        ),
    ]
