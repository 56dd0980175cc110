"""Beat schedules of integrations (editable in the admin afterwards). Stable task names."""

from django.db import migrations

SCHEDULES = {
    # The relay: a kick after each commit does most of the work; this catches the rest
    # (events written while Redis was down, kicks lost).
    "integrations: outbox relay": ("integrations.outbox_relay", 5),
    # Due retries, messages lost while Redis was down, claims of workers that died.
    "integrations: publish due work": ("integrations.scan_due", 5),
}


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, (task, seconds) in SCHEDULES.items():
        interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={"task": task, "interval": interval, "crontab": None, "enabled": True},
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
