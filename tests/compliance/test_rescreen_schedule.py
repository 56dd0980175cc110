"""The rescreen scan is on beat's schedule, under a task name the worker knows."""

from __future__ import annotations

import importlib

from django.apps import apps
from django_celery_beat.models import PeriodicTask

from fintech.celery import app as celery_app


def test_beat_runs_the_rescreen_scan(db) -> None:
    migration = importlib.import_module("fintech.compliance.migrations.0003_sanctions_screening")
    # Re-run: transactional tests elsewhere flush the table.
    migration.create_schedules(apps, None)
    migration.create_schedules(apps, None)  # idempotent
    task = PeriodicTask.objects.get(task="compliance.sanctions_rescreen_due")
    assert task.enabled
    assert task.interval.every == 60
    celery_app.loader.import_default_modules()
    assert "compliance.sanctions_rescreen_due" in celery_app.tasks
